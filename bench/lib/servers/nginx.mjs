// nginx (Debian package) serving the benchmark's blob file over loopback: the physical reference for pulls.
// Runs in the foreground with every path it writes (pid, logs, temp folders) inside the work folder.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { startProcess, stopProcess } from '../processes.mjs';
import { answeringOrStopped, freePort } from './common.mjs';

export const NGINX_BIN = '/usr/sbin/nginx';

/** Serves `file` at /<basename>. Returns { pid, url (of the file), stop }. */
export async function startNginx(dir, file, pass) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const isRoot = process.getuid?.() === 0;
  const p = (name) => JSON.stringify(join(dir, name));
  const listen = pass.tls ? `127.0.0.1:${port} ssl` : `127.0.0.1:${port}`;
  const conf = `
daemon off;
master_process on;
worker_processes 1;
${isRoot ? 'user root;' : ''}
pid ${p('nginx.pid')};
error_log ${p('error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path ${p('body')};
  proxy_temp_path ${p('proxy')};
  fastcgi_temp_path ${p('fastcgi')};
  uwsgi_temp_path ${p('uwsgi')};
  scgi_temp_path ${p('scgi')};
  server {
    listen ${listen};
    ${pass.tls ? `ssl_certificate ${JSON.stringify(pass.tls.certFile)}; ssl_certificate_key ${JSON.stringify(pass.tls.keyFile)};` : ''}
    root ${JSON.stringify(dirname(file))};
  }
}
`;
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  const logFile = join(dir, 'stderr.log');
  const handle = startProcess('nginx', NGINX_BIN, ['-p', dir, '-e', join(dir, 'error.log'), '-c', confFile], {
    cwd: dir,
    logFile,
  });
  const origin = `${pass.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  await answeringOrStopped(handle, `${origin}/`, { ca: pass.tls?.ca });
  return {
    pid: handle.pid,
    origin,
    url: `${origin}/${basename(file)}`,
    stop: () => stopProcess(handle, { signal: 'SIGQUIT', graceMs: 5000 }),
  };
}
