// A tiny run of the whole benchmark (`--quick`), so that CI keeps the harness working: every phase
// runs on both servers and yields its figures. The figures themselves are never checked (a
// benchmark is not a pass/fail test); only that they were measured.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missingPackages } from '../lib/prereqs.mjs';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

function runBench(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(BENCH_DIR, 'run.mjs'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

/** Rows of the result table, by pass and figure name. */
function figures(file) {
  const result = JSON.parse(readFileSync(file, 'utf8'));
  return new Map(result.table.map((row) => [`${row.pass}: ${row.figure.trim()}`, row]));
}

/** The rows comparing a figure with a reference measured in the run (dd, the Node sinks, nginx). */
function assertReferenced(rows, names) {
  for (const name of names) {
    const row = rows.get(name);
    assert.ok(row, `${name}: no row`);
    assert.ok(typeof row.limit === 'number' && row.limit > 0, `${name}: reference measured ${row.limit}`);
  }
}

function assertMeasured(rows, names) {
  for (const name of names) {
    const row = rows.get(name);
    assert.ok(row, `${name}: no row (rows: ${[...rows.keys()].join('; ')})`);
    for (const server of ['zot', 'distribution']) {
      assert.ok(typeof row[server] === 'number' && row[server] > 0, `${name}: ${server} measured ${row[server]}`);
    }
  }
}

// The harness would install missing packages itself as root; CI's setup has done so already, and a
// developer's machine without them skips this run rather than installing from a test.
const missing = missingPackages();
const skip =
  missing.length > 0 ? `needs Debian packages ${missing.join(' ')} (scripts/install-system-deps.sh installs them as root)` : false;

test('bench --quick: every phase runs on zot-ts and distribution and yields figures', { skip, timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zot-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const plain = join(dir, 'plain.json');
  const run = await runBench(['--quick', '--json', plain]);
  assert.equal(run.code, 0, run.stderr.slice(-3000));
  const phases = [
    'monolithic push (MB/s)',
    'chunked push (MB/s)',
    'blob pull (MB/s)',
    'manifest GET by tag (req/s, wrk)',
    'blob HEAD (req/s, ab)',
    'tags list (req/s, wrk)',
  ];
  const rows = figures(plain);
  assertMeasured(
    rows,
    phases.map((p) => `plain: ${p}`),
  );
  assert.ok(
    [...rows.keys()].some((name) => /^plain: \d+ concurrent skopeo pushes/.test(name)),
    'the skopeo phase ran',
  );
  const compared = ['storage write', 'receive only', 'minimal store'];
  assertReferenced(rows, [
    ...['monolithic push', 'chunked push'].flatMap((p) => compared.map((c) => `plain: ${p} vs ${c} (MB/s)`)),
    'plain: blob pull (MB/s)',
  ]);

  // The TLS and htpasswd passes, two phases each: certificates, credentials and the rate comparison work.
  const secured = join(dir, 'secured.json');
  const second = await runBench(['--quick', '--tls', '--auth', '--only', 'push,manifest', '--json', secured]);
  assert.equal(second.code, 0, second.stderr.slice(-3000));
  const passes = ['tls', 'auth', 'tls+auth'];
  const securedRows = figures(secured);
  assertMeasured(
    securedRows,
    passes.flatMap((pass) => [`${pass}: monolithic push (MB/s)`, `${pass}: manifest GET by tag (req/s, wrk)`]),
  );
  assertReferenced(
    securedRows,
    passes.flatMap((pass) => compared.map((c) => `${pass}: monolithic push vs ${c} (MB/s)`)),
  );
});
