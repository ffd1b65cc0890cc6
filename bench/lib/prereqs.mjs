// Checks what the benchmark drives: Debian packages (installed with apt-get when running as root),
// autocannon in bench/node_modules (npm ci, only for --loadgen autocannon), and a built zot-cli.
// Installs nothing else.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { autocannonBin } from './loadgen.mjs';
import { runCommand } from './processes.mjs';
import { zotMissingReason } from './servers/zot.mjs';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Debian package -> a file it installs. */
const PACKAGES = {
  'docker-registry': '/usr/bin/docker-registry',
  nginx: '/usr/sbin/nginx',
  'apache2-utils': '/usr/bin/htpasswd',
  openssl: '/usr/bin/openssl',
  skopeo: '/usr/bin/skopeo',
  wrk: '/usr/bin/wrk',
  curl: '/usr/bin/curl',
};

export function missingPackages() {
  return Object.entries(PACKAGES)
    .filter(([, file]) => !existsSync(file))
    .map(([pkg]) => pkg);
}

export async function checkPrerequisites(options, log) {
  const problems = [];
  let missing = missingPackages();
  if (missing.length > 0) {
    const command = `apt-get install -y ${missing.join(' ')}`;
    if (process.getuid?.() === 0) {
      log(`installing missing Debian packages: ${command}`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      // Lock timeout: other apt runs on a shared machine should delay us, not fail us.
      const r = await runCommand('apt-get', ['install', '-y', '-q', '-o', 'DPkg::Lock::Timeout=300', ...missing], { env });
      if (r.code !== 0) log(`apt-get install failed:\n${(r.stdout + r.stderr).split('\n').slice(-10).join('\n')}`);
      missing = missingPackages();
    }
    if (missing.length > 0) {
      problems.push(
        `missing Debian packages: ${missing.join(' ')} — install them (as root) with: apt-get update && apt-get install -y ${missing.join(' ')}`,
      );
    }
  }
  if (options.loadgen === 'autocannon' && !autocannonBin()) {
    log('installing autocannon into bench/node_modules (npm ci)');
    const lock = existsSync(join(BENCH_DIR, 'package-lock.json'));
    const r = await runCommand('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: BENCH_DIR });
    if (r.code !== 0 || !autocannonBin()) {
      problems.push(`autocannon is missing: run \`npm ci\` in ${BENCH_DIR}\n${r.stderr.slice(-500)}`);
    }
  }
  const zot = zotMissingReason();
  if (zot) problems.push(zot);
  return problems;
}
