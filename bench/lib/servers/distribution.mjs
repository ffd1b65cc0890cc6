// CNCF distribution 2.8 from Debian's docker-registry package, run by hand with a config the benchmark
// writes: filesystem storage in the work folder, delete enabled, loopback only, log level warn.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, startProcess, stopProcess } from '../processes.mjs';
import { answeringOrStopped, freePort } from './common.mjs';

export const DISTRIBUTION_BIN = '/usr/bin/docker-registry';

export async function distributionVersion() {
  const { stdout } = await runCommand(DISTRIBUTION_BIN, ['--version']).catch(() => ({ stdout: '' }));
  return stdout.trim();
}

const q = (s) => JSON.stringify(s); // a JSON string is a valid YAML scalar

/** @param {{ tls?: { certFile: string, keyFile: string, ca: string }, auth?: { file: string } }} pass */
export async function startDistribution(dir, pass) {
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    // zot-ts writes no per-request log at level warn; without this distribution would print one line
    // per request to stdout (its access log ignores the level).
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(join(dir, 'storage'))}`,
    '  delete:',
    '    enabled: true',
    '  cache:',
    '    blobdescriptor: inmemory', // as Debian's packaged config
    'http:',
    `  addr: ${q(`127.0.0.1:${port}`)}`,
  ];
  if (pass.tls) lines.push('  tls:', `    certificate: ${q(pass.tls.certFile)}`, `    key: ${q(pass.tls.keyFile)}`);
  if (pass.auth) lines.push('auth:', '  htpasswd:', '    realm: zot-ts-bench', `    path: ${q(pass.auth.file)}`);
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, `${lines.join('\n')}\n`);
  const logFile = join(dir, 'server.log');
  const handle = startProcess('distribution', DISTRIBUTION_BIN, ['serve', configFile], { cwd: dir, logFile });
  const baseUrl = `${pass.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  await answeringOrStopped(handle, `${baseUrl}/v2/`, { ca: pass.tls?.ca });
  return {
    name: 'distribution',
    label: 'distribution',
    pid: handle.pid,
    process: handle,
    baseUrl,
    logFile,
    stop: () => stopProcess(handle, { signal: 'SIGTERM', graceMs: 10000 }),
  };
}
