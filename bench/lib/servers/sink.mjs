// The Node references for pushes: sink-server.mjs (receive only, or minimal store) run by this same
// Node, over the pass's transport (TLS with the pass's certificate), storing into the work folder.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, stopProcess } from '../processes.mjs';
import { answeringOrStopped, freePort } from './common.mjs';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'sink-server.mjs');

/** mode: 'receive' | 'store'. Returns { pid, origin, stop }. */
export async function startSink(dir, pass, mode) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = [SCRIPT, mode, String(port), dir];
  if (pass.tls) args.push(pass.tls.certFile, pass.tls.keyFile);
  const handle = startProcess(`node:http ${mode}`, process.execPath, args, { cwd: dir, logFile: join(dir, `${mode}.log`) });
  const origin = `${pass.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  await answeringOrStopped(handle, `${origin}/v2/`, { ca: pass.tls?.ca });
  return { pid: handle.pid, origin, stop: () => stopProcess(handle, { graceMs: 5000 }) };
}
