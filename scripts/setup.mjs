#!/usr/bin/env node
// Makes a fresh clone ready to run: pnpm (pinned), dependencies from the lock file, a build.
// With --system it also installs the Debian packages the end-to-end tests drive (see install-system-deps.sh).
// Every step checks before it acts, so a second run on a ready machine takes about a second.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PNPM_VERSION = '10.34.9';
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
// `npm test --silent` exports npm_config_loglevel=silent, which pnpm obeys too: it would hide why an install failed.
delete process.env.npm_config_loglevel;

function log(message) {
  console.log(`setup: ${message}`);
}

/** Runs a command with inherited output; exits the script when it fails. */
function run(command, commandArgs, { quiet = false } = {}) {
  const result = spawnSync(command, commandArgs, {
    cwd: repoRoot,
    stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
  if (result.error || result.status !== 0) {
    if (quiet) process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    const why = result.error ? result.error.message : `exit code ${result.status}`;
    console.error(`setup: \`${command} ${commandArgs.join(' ')}\` failed (${why})`);
    process.exit(result.status || 1);
  }
  return result;
}

function versionOf(command, commandArgs = ['--version']) {
  const result = spawnSync(command, commandArgs, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Returns how to call pnpm PNPM_VERSION: the one on PATH, a global install (root), or npx. */
function resolvePnpm() {
  // COREPACK_ENABLE_STRICT=0: a corepack shim on PATH would otherwise try to fetch the pinned version itself.
  process.env.COREPACK_ENABLE_STRICT = '0';
  process.env.COREPACK_ENABLE_DOWNLOAD_PROMPT = '0';
  if (versionOf('pnpm') === PNPM_VERSION) return { command: 'pnpm', prefix: [] };
  if (isRoot) {
    log(`installing pnpm@${PNPM_VERSION} globally`);
    run('npm', ['install', '--global', '--no-fund', '--no-audit', `pnpm@${PNPM_VERSION}`], { quiet: true });
    if (versionOf('pnpm') === PNPM_VERSION) return { command: 'pnpm', prefix: [] };
  }
  log(`using pnpm@${PNPM_VERSION} through npx`);
  return { command: 'npx', prefix: ['--yes', `pnpm@${PNPM_VERSION}`] };
}

const started = Date.now();

if (args.has('--system')) {
  run('bash', [join(repoRoot, 'scripts', 'install-system-deps.sh')]);
}

const pnpm = resolvePnpm();
const hasLock = existsSync(join(repoRoot, 'pnpm-lock.yaml'));
log(`pnpm install${hasLock ? ' --frozen-lockfile' : ''}`);
// Output is shown only when the install fails (then it holds pnpm's reason, e.g. an outdated lock file).
run(pnpm.command, [...pnpm.prefix, 'install', ...(hasLock ? ['--frozen-lockfile'] : [])], { quiet: true });

// Compiled files of moved or deleted modules: tsc never removes them, and stale tests would run.
run(process.execPath, [join(repoRoot, 'scripts', 'prune-stale-dist.mjs')]);
log('building (tsc -b)');
run(pnpm.command, [...pnpm.prefix, 'run', '--silent', 'build']);

log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
