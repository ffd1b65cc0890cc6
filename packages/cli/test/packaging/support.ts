/**
 * What the packed-install test does with the repository's packages: pack every folder under packages/ as
 * pnpm would publish it, read what a tarball holds, and run programs of the installed project as the
 * unprivileged server user, each in a process group of its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { request } from 'node:http';
import { dirname, join, relative } from 'node:path';
import { runCommand } from '../helpers/images.js';
import { repoRoot, serverUser } from '../helpers/server.js';

/** Every package folder under packages/ (listed, so packages added later are packed too). */
export function packageFolders(): string[] {
  const root = join(repoRoot, 'packages');
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'package.json')))
    .map((entry) => join(root, entry.name))
    .sort();
}

/** pnpm at the version the repository pins (`packageManager`): the one on PATH, else through npx. */
export function pnpmCommand(): { command: string; prefix: string[] } {
  const pinned =
    (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { packageManager?: string }).packageManager ?? 'pnpm@10';
  const version = pinned.replace(/^pnpm@/, '');
  const onPath = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env: { ...process.env, COREPACK_ENABLE_STRICT: '0' } });
  if (onPath.status === 0 && onPath.stdout.trim() === version) return { command: 'pnpm', prefix: [] };
  return { command: 'npx', prefix: ['--yes', `pnpm@${version}`] };
}

/**
 * `pnpm pack` of each folder into `destination` (pnpm rewrites `workspace:` versions as it does for
 * publishing; each package's `prepack` builds it). Resolves to the tarball paths.
 */
export async function packAll(folders: readonly string[], destination: string): Promise<string[]> {
  const pnpm = pnpmCommand();
  const filters = folders.flatMap((folder) => ['--filter', `./${folder.slice(repoRoot.length + 1)}`]);
  const env: NodeJS.ProcessEnv = { ...process.env, COREPACK_ENABLE_STRICT: '0', COREPACK_ENABLE_DOWNLOAD_PROMPT: '0' };
  delete env.NODE_TEST_CONTEXT;
  delete env.npm_config_loglevel;
  await runCommand(pnpm.command, [...pnpm.prefix, '--recursive', ...filters, 'pack', '--pack-destination', destination], {
    cwd: repoRoot,
    env,
    timeoutMs: 300_000,
  });
  return readdirSync(destination)
    .filter((name) => name.endsWith('.tgz'))
    .map((name) => join(destination, name))
    .sort();
}

/** A tarball unpacked into `dir` (its `package/` folder), with the list of its files. */
export async function unpack(tarball: string, dir: string): Promise<{ root: string; files: string[] }> {
  mkdirSync(dir, { recursive: true });
  await runCommand('tar', ['-xzf', tarball, '-C', dir]);
  const root = join(dir, 'package');
  const files = (readdirSync(root, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
  return { root, files };
}

/** The first ```js block of a README section (the heading's text, e.g. `## Embedding`). */
export function codeBlockOf(readme: string, heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  const end = readme.indexOf('\n## ', start + heading.length + 2);
  const match = start < 0 ? null : /```js\n([\s\S]*?)```/.exec(readme.slice(start, end < 0 ? undefined : end));
  if (!match) throw new Error(`no \`\`\`js block under "${heading}"`);
  return match[1]!;
}

export interface UserProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code of the process started (not of its children). */
  readonly exited: Promise<number | null>;
  /** SIGTERM to the whole process group (npx does not pass signals on), then waits until none of it is left. */
  stop(): Promise<void>;
}

/**
 * Starts `command args` in `cwd` as the unprivileged server user (when the tests run as root), in a
 * process group of its own, with HOME (npm's cache) in `home`.
 */
export function startAsServerUser(
  command: string,
  args: string[],
  options: { cwd: string; home: string; env?: Record<string, string> },
): UserProcess {
  const user = serverUser();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: options.home,
    npm_config_cache: join(options.home, '.npm'),
    npm_config_update_notifier: 'false',
    // node first: the launcher's shebang (`env ... node`) and npx look it up there.
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    ...options.env,
  };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      text += `\n[spawn error] ${err.message}\n`;
      resolve(null);
    });
  });
  const groupAlive = (): boolean => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    child,
    output: () => text,
    exited,
    async stop() {
      if (child.pid === undefined || !groupAlive()) return;
      process.kill(-child.pid, 'SIGTERM');
      const deadline = Date.now() + 15_000;
      while (groupAlive()) {
        if (Date.now() > deadline) {
          process.kill(-child.pid, 'SIGKILL');
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      await exited;
    },
  };
}

/** Waits until `ready(output)` holds and `url` answers HTTP; throws with the output when the process ends first. */
export async function waitUntilServing(
  proc: UserProcess,
  ready: (output: string) => boolean,
  url: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  void proc.exited.then(() => (ended = true));
  for (;;) {
    if (ended) throw new Error(`exited before serving:\n${proc.output()}`);
    if (ready(proc.output()) && (await answers(url))) return;
    if (Date.now() > deadline) throw new Error(`not serving ${url} within ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
