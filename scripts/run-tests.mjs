#!/usr/bin/env node
// Runs every compiled test file (packages/*/dist/test, examples/dist/test) and bench/test/*.test.mjs with node's
// own test runner and exits with its exit code.
//   node scripts/run-tests.mjs            all tests
//   node scripts/run-tests.mjs e2e auth   only files whose path contains "e2e" or "auth"
// The spec reporter is forced (node picks TAP when stdout is not a terminal) so the run ends with node's
// summary lines (ℹ tests N, ℹ pass N, ℹ fail N, ...), which is what CI reads.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
// Folders of shared test code, never test files themselves.
const SKIPPED_DIRS = new Set(['helpers', 'support', 'fixtures', 'node_modules']);
// Two cores: more parallel files only make the container-client tests fight for CPU.
const CONCURRENCY = process.env.ZOT_TEST_CONCURRENCY ?? '2';
// A hung client or server must fail the run, not eat CI's time limit.
const TEST_TIMEOUT_MS = process.env.ZOT_TEST_TIMEOUT_MS ?? '600000';

function findTests(dir, found = []) {
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) findTests(path, found);
    } else if (entry.isFile() && (entry.name.endsWith('.test.js') || entry.name.endsWith('.test.mjs'))) {
      found.push(path);
    }
  }
  return found;
}

// Compiled TypeScript tests, plus the benchmark scripts' own plain-JavaScript tests.
const testRoots = [join(repoRoot, 'examples', 'dist', 'test'), join(repoRoot, 'bench', 'test')];
const packagesDir = join(repoRoot, 'packages');
for (const pkg of existsSync(packagesDir) ? readdirSync(packagesDir, { withFileTypes: true }) : []) {
  if (pkg.isDirectory()) testRoots.push(join(packagesDir, pkg.name, 'dist', 'test'));
}

const filters = process.argv.slice(2);
const files = testRoots
  .flatMap((root) => findTests(root))
  .map((file) => relative(repoRoot, file))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

if (files.length === 0) {
  console.error(
    `run-tests: no compiled test files found${filters.length ? ` matching ${filters.join(', ')}` : ''}` +
      ` (did the build run? try \`node scripts/setup.mjs\`)`,
  );
  process.exit(1);
}

console.log(`run-tests: ${files.length} test file(s), concurrency ${CONCURRENCY}`);
const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${CONCURRENCY}`,
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    ...files.map((file) => file.split(sep).join('/')),
  ],
  { cwd: repoRoot, stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});
