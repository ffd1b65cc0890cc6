// zot-ts, started the way users start it: `node packages/cli/bin/zot-cli.js serve <config.json>`
// with a zot-style config the benchmark writes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, stopProcess } from '../processes.mjs';
import { answeringOrStopped, freePort } from './common.mjs';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ZOT_CLI = join(REPO_ROOT, 'packages', 'cli', 'bin', 'zot-cli.js');
const ZOT_MAIN = join(REPO_ROOT, 'packages', 'cli', 'dist', 'src', 'main.js');

/**
 * The environment and node flags of a `#!/usr/bin/env -S VAR=value ... node --flag ...` line, so
 * the benchmark runs the server exactly as the launcher does, while adding flags of its own.
 */
export function shebangOf(file) {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0];
  const words = first
    .replace(/^#!\S*env\s+(-S\s+)?/, '')
    .split(/\s+/)
    .filter(Boolean);
  const node = words.indexOf('node');
  if (!first.startsWith('#!') || node < 0) return { env: {}, nodeArgs: [] };
  const env = Object.fromEntries(words.slice(0, node).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  return { env, nodeArgs: words.slice(node + 1) };
}

export function zotMissingReason() {
  if (!existsSync(ZOT_CLI)) return `${ZOT_CLI} not found`;
  if (!existsSync(ZOT_MAIN)) return `zot-cli is not built (${ZOT_MAIN} missing): run \`pnpm build\` first`;
  return undefined;
}

/**
 * @param {string} dir  work folder for this server (config, storage, log)
 * @param {{ tls?: { certFile: string, keyFile: string, ca: string }, auth?: { file: string } }} pass
 * @param {{ cpuProfDir?: string, workers?: number }} options  workers: the config's http.workers
 */
export async function startZot(dir, pass, { cpuProfDir, workers = 1 } = {}) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const http = { address: '127.0.0.1', port: String(port), ...(workers > 1 ? { workers } : {}) };
  if (pass.tls) http.tls = { cert: pass.tls.certFile, key: pass.tls.keyFile };
  if (pass.auth) http.auth = { htpasswd: { path: pass.auth.file } };
  const config = {
    distSpecVersion: '1.1.0',
    storage: { rootDirectory: join(dir, 'storage') },
    http,
    log: { level: 'warn' },
  };
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  // Node flags and environment as the zot-cli launcher's shebang sets them (what `npm start` runs).
  const launcher = shebangOf(ZOT_CLI);
  const nodeArgs = [...launcher.nodeArgs];
  if (cpuProfDir) {
    mkdirSync(cpuProfDir, { recursive: true });
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', cpuProfDir);
  }
  const logFile = join(dir, 'server.log');
  const handle = startProcess('zot-ts', process.execPath, [...nodeArgs, ZOT_CLI, 'serve', configFile], {
    cwd: dir,
    logFile,
    env: { ...process.env, ...launcher.env },
  });
  const baseUrl = `${pass.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  await answeringOrStopped(handle, `${baseUrl}/v2/`, { ca: pass.tls?.ca });
  return {
    name: 'zot',
    label: 'zot-ts',
    pid: handle.pid,
    process: handle,
    baseUrl,
    logFile,
    // SIGTERM: the CLI shuts down gracefully, which also lets node write the --cpu-prof file.
    stop: () => stopProcess(handle, { signal: 'SIGTERM', graceMs: 20000 }),
  };
}
