// Helpers shared by the server launchers: a free loopback port and waiting until a server answers.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopProcess, tail } from '../processes.mjs';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function probe(url, ca) {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve) => {
    const req = mod.get(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
  });
}

/** Polls `url` until any HTTP answer comes back; fails early when the process exits. */
export async function waitUntilAnswering(handle, url, { ca, timeoutMs = 30000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (handle.exitInfo !== undefined) {
      throw new Error(`${handle.name} exited (${JSON.stringify(handle.exitInfo)}) before answering; log:\n${tail(handle.logFile)}`);
    }
    if ((await probe(url, ca)) !== undefined) return;
    await sleep(100);
  }
  throw new Error(`${handle.name} did not answer ${url} within ${timeoutMs} ms; log:\n${tail(handle.logFile)}`);
}

/** {@link waitUntilAnswering}, stopping the process when it never answers (no server left behind). */
export async function answeringOrStopped(handle, url, options = {}) {
  try {
    await waitUntilAnswering(handle, url, options);
  } catch (err) {
    await stopProcess(handle, { graceMs: 2000 });
    throw err;
  }
}
