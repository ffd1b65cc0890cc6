/**
 * Test helper: runs the real `zot-cli serve` as a child process on a free port with a fresh
 * storage root, the way an operator would, and tells the test where it is.
 *
 * When the tests run as root the registry runs as an unprivileged user (`zot`, created if
 * missing, else `nobody`), so tests see the permission behaviour of a normal deployment.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

/** The repository checkout (this file compiles to packages/cli/dist/test/helpers/server.js). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');
export const cliPath = join(repoRoot, 'packages/cli/bin/zot-cli.js');

export type ConfigObject = Record<string, unknown>;

export interface StartServerOptions {
  /**
   * zot-style config merged (deeply, objects only) over the default: a fresh temp
   * `storage.rootDirectory`, `http.address` 127.0.0.1 and a free `http.port`. A function gets the
   * server's temp folder (where `files` are written), for configs that name files in it.
   */
  config?: ConfigObject | ((tempDir: string) => ConfigObject);
  /** Extra environment variables for the server process. */
  env?: Record<string, string>;
  /** Files written into the temp folder before start (relative path -> content), readable by the server user. */
  files?: Record<string, string | Uint8Array>;
  /** How long to wait for `GET /v2/` to answer (default 20 s). */
  startTimeoutMs?: number;
  /** Config file format (default json). */
  format?: 'json' | 'yaml';
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningServer {
  /** `http://127.0.0.1:PORT` (https when the config has `http.tls`). */
  url: string;
  /** `127.0.0.1:PORT`, as container clients want it. */
  host: string;
  port: number;
  rootDirectory: string;
  configPath: string;
  /** The temp folder holding the config, the `files` and (by default) the storage root. */
  tempDir: string;
  /** Everything the server wrote to stdout and stderr so far. */
  logs(): string;
  /** Log lines parsed as JSON (non-JSON lines skipped). */
  logRecords(): Array<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s); resolves once the process has exited. */
  stop(graceMs?: number): Promise<ExitStatus>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process exits. */
  readonly exited: Promise<ExitStatus>;
  readonly process: ChildProcess;
}

// The line `zot-cli serve` logs once it listens.
const STARTUP_LINE = /"msg":"zot-ts listening on /;

const tempDirs = new Set<string>();
process.once('exit', () => {
  if (process.env.ZOT_TEST_KEEP === '1') return;
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolvePort(port) : reject(new Error('could not get a free port'))));
    });
  });
}

export interface ServerUser {
  uid: number;
  gid: number;
  name: string;
}

let cachedUser: ServerUser | undefined | null = null;

/**
 * The unprivileged user the registry runs as, or undefined when the tests do not run as root
 * (then it runs as the current user) or no such user can read the checkout.
 */
export function serverUser(): ServerUser | undefined {
  if (cachedUser !== null) return cachedUser;
  cachedUser = undefined;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return cachedUser;
  let user = lookupUser('zot');
  if (!user) {
    spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'zot'], { stdio: 'ignore' });
    user = lookupUser('zot') ?? lookupUser('nobody');
  }
  if (!user) {
    console.warn('zot test helper: no unprivileged user (zot or nobody) found; running the registry as root');
    return cachedUser;
  }
  // Can that user run node on the checkout? (It cannot when the checkout sits under a 0700 /root.)
  const probe = spawnSync(
    process.execPath,
    ['-e', 'require("fs").accessSync(process.argv[1], require("fs").constants.R_OK)', join(repoRoot, 'packages/cli/dist/src/main.js')],
    { uid: user.uid, gid: user.gid, stdio: 'ignore', cwd: '/' },
  );
  if (probe.status !== 0) {
    console.warn(`zot test helper: user ${user.name} cannot read ${repoRoot}; running the registry as the current user`);
    return cachedUser;
  }
  cachedUser = user;
  return cachedUser;
}

function lookupUser(name: string): ServerUser | undefined {
  const result = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  const fields = result.stdout.trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid, name } : undefined;
}

/** Gives `path` (recursively) to the server user, so files a test prepared as root are usable by the registry. */
export function giveToServerUser(path: string): void {
  const user = serverUser();
  if (!user) return;
  const walk = (p: string): void => {
    const stat = lstatSync(p);
    chownSync(p, user.uid, user.gid);
    if (stat.isDirectory()) for (const entry of readdirSync(p)) walk(join(p, entry));
  };
  walk(path);
}

/** A fresh temp folder owned by the server user (removed when the test process exits). */
export function makeTempDir(prefix = 'zot-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  giveToServerUser(dir);
  return dir;
}

export function deepMerge(base: ConfigObject, over: ConfigObject): ConfigObject {
  const out: ConfigObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is ConfigObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

// A port found free can be taken by another process before the server binds it (tests run in
// parallel, other programs open ports too): a server that lost that race is started again.
const PORT_RACE_ATTEMPTS = 4;

/** Starts `zot-cli serve CONFIG` and waits until `GET /v2/` answers. */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  if (!existsSync(join(repoRoot, 'packages/cli/dist/src/main.js'))) {
    throw new Error(`zot-cli is not built (${join(repoRoot, 'packages/cli/dist/src/main.js')} missing): run pnpm build`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(options);
    } catch (err) {
      const lostPortRace = err instanceof PortInUseError && !err.portChosenByTest;
      if (!lostPortRace || attempt >= PORT_RACE_ATTEMPTS) throw err;
    }
  }
}

class PortInUseError extends Error {
  constructor(
    message: string,
    readonly portChosenByTest: boolean,
  ) {
    super(message);
  }
}

async function startServerOnce(options: StartServerOptions): Promise<RunningServer> {
  const tempDir = makeTempDir();
  const port = await freePort();
  const defaults: ConfigObject = {
    distSpecVersion: '1.1.0',
    storage: { rootDirectory: join(tempDir, 'data') },
    http: { address: '127.0.0.1', port: String(port) },
    log: { level: 'info' },
  };
  // Set by the S3 suites (test/s3/): every server stores in that bucket, under a key prefix of its own.
  const driver = process.env.ZOT_TEST_STORAGE_DRIVER;
  if (driver) {
    const parsed = JSON.parse(driver) as ConfigObject;
    (defaults.storage as ConfigObject).storageDriver = {
      ...parsed,
      rootdirectory: `${String(parsed.rootdirectory ?? '')}/${tempDir.split('/').pop()}`,
    };
  }
  for (const [rel, content] of Object.entries(options.files ?? {})) {
    const file = join(tempDir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  const override = typeof options.config === 'function' ? options.config(tempDir) : (options.config ?? {});
  const config = deepMerge(defaults, override);
  const http = (config.http ?? {}) as ConfigObject;
  const storage = (config.storage ?? {}) as ConfigObject;
  const rootDirectory = resolve(tempDir, String(storage.rootDirectory ?? 'zot-data'));
  const actualPort = Number(http.port ?? port);
  const address = String(http.address ?? '127.0.0.1');
  const host = `${address.includes(':') ? `[${address}]` : address}:${actualPort}`;
  const scheme = http.tls ? 'https' : 'http';

  const configPath = join(tempDir, options.format === 'yaml' ? 'config.yaml' : 'config.json');
  writeFileSync(configPath, options.format === 'yaml' ? yaml.dump(config) : `${JSON.stringify(config, null, 2)}\n`);
  if (rootDirectory.startsWith(`${tempDir}/`) && !existsSync(rootDirectory)) mkdirSync(rootDirectory, { recursive: true });
  giveToServerUser(tempDir);

  const user = serverUser();
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  // Inherited from `node --test`; it would make a child that happens to load node:test report to us.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [cliPath, 'serve', configPath], {
    cwd: tempDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<ExitStatus>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
    child.once('error', (err) => {
      output += `\n[spawn error] ${err.message}\n`;
      resolveExit({ code: null, signal: null });
    });
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const server: RunningServer = {
    url: `${scheme}://${host}`,
    host,
    port: actualPort,
    rootDirectory,
    configPath,
    tempDir,
    logs: () => output,
    logRecords: () => parseJsonLines(output),
    kill: (signal) => {
      if (!hasExited) child.kill(signal);
    },
    async stop(graceMs = 10_000) {
      if (hasExited) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    exited,
    process: child,
  };

  const logFile = (config.log as ConfigObject | undefined)?.output;
  const logPath = typeof logFile === 'string' ? resolve(tempDir, logFile) : undefined;
  const startupLogged = (): boolean => {
    if (STARTUP_LINE.test(output)) return true;
    return logPath !== undefined && existsSync(logPath) && STARTUP_LINE.test(readFileSync(logPath, 'utf8'));
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  for (;;) {
    if (hasExited) {
      const status = await exited;
      const message = `zot-cli serve exited before answering (code ${status.code}, signal ${status.signal}). Log:\n${output}`;
      if (output.includes('EADDRINUSE')) throw new PortInUseError(message, http.port !== String(port));
      throw new Error(message);
    }
    // Both: an answer alone could come from another process on the same port.
    if (startupLogged() && (await probe(server.url))) return server;
    if (Date.now() > deadline) {
      await server.stop(2000);
      throw new Error(`zot-cli serve did not answer GET ${server.url}/v2/ within ${options.startTimeoutMs ?? 20_000} ms. Log:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True once the server answers anything on `/v2/` (a 401 counts: the server is up). */
function probe(url: string): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const isHttps = url.startsWith('https:');
    const send = isHttps ? httpsRequest : httpRequest;
    const req = send(`${url}/v2/`, { method: 'GET', timeout: 1000, ...(isHttps ? { rejectUnauthorized: false } : {}) }, (res) => {
      res.resume();
      resolveProbe(true);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // With mutual TLS the handshake itself fails without a client certificate (an alert, or a
      // reset under TLS 1.3): the server is up. Only a refused connection or silence means not yet.
      const up = isHttps && err.code !== 'ECONNREFUSED' && err.message !== 'timeout';
      resolveProbe(up);
    });
    req.end();
  });
}

function parseJsonLines(text: string): Array<Record<string, unknown>> {
  const records: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a JSON log line
    }
  }
  return records;
}
