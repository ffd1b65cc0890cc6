/**
 * Test helper: a stock dockerd (Debian's docker.io) started by hand with its own containerd, data
 * root, exec root and socket under a temp folder (no iptables, no bridge, the vfs storage
 * driver), so a test can `docker login`, `push` and `pull` against a registry on loopback. Its
 * client configuration (logins) lives in a folder of its own too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasProgram, isRoot, runCommand, type RunResult } from './images.js';

/** Debian's client, not whatever else is first on PATH. */
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

export function dockerdAvailable(): string | false {
  if (!isRoot) return 'dockerd needs root';
  for (const program of ['dockerd', 'containerd']) if (!hasProgram(program)) return `${program} is not installed (docker.io)`;
  return false;
}

export interface Dockerd {
  /** Runs the docker client against this daemon. */
  docker(...args: string[]): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startDockerd(): Promise<Dockerd> {
  const dir = await mkdtemp(join(tmpdir(), 'zot-dockerd-'));
  const paths = {
    containerdRoot: join(dir, 'containerd'),
    containerdState: join(dir, 'containerd-state'),
    containerdSocket: join(dir, 'containerd.sock'),
    dataRoot: join(dir, 'data'),
    execRoot: join(dir, 'exec'),
    socket: join(dir, 'docker.sock'),
    pidfile: join(dir, 'docker.pid'),
    clientConfig: join(dir, 'client'),
  };
  await mkdir(paths.clientConfig, { recursive: true });
  const containerdConfig = join(dir, 'containerd.toml');
  await writeFile(
    containerdConfig,
    `version = 2\nroot = "${paths.containerdRoot}"\nstate = "${paths.containerdState}"\n[grpc]\n  address = "${paths.containerdSocket}"\n`,
  );
  const processes: ChildProcess[] = [];
  let output = '';
  const launch = (program: string, args: string[]): ChildProcess => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    processes.push(child);
    return child;
  };
  launch('containerd', ['--config', containerdConfig]);
  await waitFor(
    () => existsSync(paths.containerdSocket),
    20_000,
    () => `containerd did not start:\n${output}`,
  );
  launch('dockerd', [
    '--containerd',
    paths.containerdSocket,
    '--data-root',
    paths.dataRoot,
    '--exec-root',
    paths.execRoot,
    '--pidfile',
    paths.pidfile,
    '-H',
    `unix://${paths.socket}`,
    '--iptables=false',
    '--ip-masq=false',
    '--bridge=none',
    '--storage-driver=vfs',
  ]);
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: paths.clientConfig };
  delete env.NODE_TEST_CONTEXT;
  const docker = (...args: string[]): Promise<RunResult> => runCommand(DOCKER, ['-H', `unix://${paths.socket}`, ...args], { env });
  await waitFor(
    async () =>
      docker('version').then(
        () => true,
        () => false,
      ),
    60_000,
    () => `dockerd did not start:\n${output}`,
  );
  return {
    docker,
    async stop() {
      for (const child of processes.reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
