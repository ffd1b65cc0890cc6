// Pure-logic tests of the harness (no servers): option parsing, aggregation, targets, profile summary.
// Run: node --test bench/test/
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseOptions, parseSize } from '../lib/options.mjs';
import { topSelfTime } from '../lib/profile.mjs';
import { buildRows, formatTable } from '../lib/report.mjs';
import { combine, median } from '../lib/stats.mjs';

test('sizes: bare K/M/G are binary, decimal units are decimal', () => {
  assert.equal(parseSize('16M'), 16 * 1024 ** 2);
  assert.equal(parseSize('512MiB'), 512 * 1024 ** 2);
  assert.equal(parseSize('4G'), 4 * 1024 ** 3);
  assert.equal(parseSize('1MB'), 1e6);
  assert.equal(parseSize('1048576'), 1048576);
  assert.throws(() => parseSize('12 parsecs'), /unknown size unit/);
});

test('options: defaults, --quick, --only and --big', () => {
  const d = parseOptions([]);
  assert.equal(d.size, 512 * 1024 ** 2);
  assert.equal(d.chunk, 16 * 1024 ** 2);
  assert.equal(d.reps, 3);
  assert.equal(d.connections, 64);
  assert.equal(d.tags, 1000);
  assert.deepEqual(d.phases, ['push', 'chunked', 'pull', 'manifest', 'head', 'tags', 'skopeo']);
  const q = parseOptions(['--quick', '--only', 'head,push', '--big']);
  assert.equal(q.reps, 1);
  assert.ok(q.size < 64 * 1024 ** 2);
  assert.deepEqual(q.phases, ['push', 'head', 'big']); // phase order is fixed, not the order given
  assert.throws(() => parseOptions(['--only', 'nope']), /unknown phase/);
  assert.throws(() => parseOptions(['--reps', '0']), /positive integer/);
});

test('aggregation: medians of figures, the largest peak RSS, shared strings kept', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const c = combine([
    { rps: 10, peakRss: 5, tool: 'wrk' },
    { rps: 30, peakRss: 9, tool: 'wrk' },
    { rps: 20, peakRss: 7, tool: 'wrk' },
  ]);
  assert.deepEqual(c, { rps: 20, peakRss: 9, tool: 'wrk', samples: 3 });
});

function results(passes) {
  return { options: { pushes: 16, bigSize: 4 * 1024 ** 3 }, references: { sha256: 1600e6 }, passes };
}

test('targets: push against SHA-256, rates against distribution, auth against unauthenticated', () => {
  const plain = {
    errors: [],
    phases: {
      push: { title: 'monolithic push', zot: { mbps: 1300, peakRss: 100e6 }, distribution: { mbps: 200, peakRss: 30e6 } },
      manifest: {
        title: 'manifest GET by tag',
        rate: true,
        zot: { rps: 15000, p50: 2, p99: 25, tool: 'wrk', peakRss: 160e6 },
        distribution: { rps: 1400, p50: 40, p99: 90, tool: 'wrk', peakRss: 50e6 },
      },
    },
  };
  const auth = {
    errors: [],
    phases: {
      manifest: { title: 'manifest GET by tag', rate: true, zot: { rps: 6000, tool: 'wrk' }, distribution: { rps: 100, tool: 'wrk' } },
    },
  };
  const rows = buildRows(results({ plain, auth }));
  const row = (pass, prefix) => rows.find((r) => r.pass === pass && r.figure.trim().startsWith(prefix));
  assert.equal(row('plain', 'monolithic push').met, true); // 1300 >= 0.75 * 1600
  assert.equal(row('plain', 'manifest GET by tag (req/s').met, true); // 15000 >= 10 * 1400
  assert.equal(row('plain', 'manifest GET by tag p99').met, false); // 25 ms
  assert.equal(row('plain', 'peak RSS, manifest').met, false); // 160 MB
  const a = row('auth', 'manifest GET by tag (req/s');
  assert.equal(a.zotVsLimit, 0.4);
  assert.equal(a.met, false); // 6000 < 0.5 * 15000
  assert.match(formatTable(rows), /monolithic push \(MB\/s\)\s+1300\s+200\s+6\.50x/);
});

test('references: a push is compared with dd and both Node sinks, a pull with nginx', () => {
  const refs = (entries) => Object.fromEntries(entries.map(([id, name, mbps]) => [id, { name, mbps, samples: 3 }]));
  const plain = {
    errors: [],
    phases: {
      push: {
        title: 'monolithic push',
        zot: { mbps: 300 },
        distribution: { mbps: 200 },
        references: refs([
          ['dd', 'dd write+fsync', 400],
          ['receive', 'node:http receive', 1200],
          ['store', 'node:http store', 250],
        ]),
      },
      pull: { title: 'blob pull', zot: { mbps: 1800 }, distribution: { mbps: 1700 }, references: refs([['nginx', 'nginx', 2000]]) },
    },
  };
  const rows = buildRows(results({ plain }));
  const row = (name) => rows.find((r) => r.figure.trim() === name);
  assert.equal(row('monolithic push vs storage write (MB/s)').zotVsLimit, 0.75);
  assert.equal(row('monolithic push vs receive only (MB/s)').zotVsLimit, 0.25);
  assert.equal(row('monolithic push vs minimal store (MB/s)').zotVsLimit, 1.2);
  assert.equal(row('monolithic push vs minimal store (MB/s)').distributionVsLimit, 0.8);
  assert.equal(row('blob pull (MB/s)').zotVsLimit, 0.9);
  assert.equal(row('blob pull (MB/s)').met, true);
});

test('a server that did not run leaves its targets undecided', () => {
  const rows = buildRows(results({ plain: { errors: [], phases: { push: { title: 'monolithic push', distribution: { mbps: 200 } } } } }));
  assert.equal(rows[0].met, undefined);
});

test('profile summary ranks functions by self time and leaves idle out of the busy share', () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 3, 4] },
      { id: 2, callFrame: { functionName: 'update', url: 'node:internal/crypto/hash', lineNumber: 131 } },
      { id: 3, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      { id: 4, callFrame: { functionName: 'writev', url: '', lineNumber: -1 } },
    ],
    samples: [2, 2, 3, 4, 2],
    timeDeltas: [0, 1000, 1000, 1000, 1000],
  };
  const file = join(mkdtempSync(join(tmpdir(), 'bench-test-')), 'p.cpuprofile');
  writeFileSync(file, JSON.stringify(profile));
  const s = topSelfTime(file);
  assert.equal(s.rows[0].name, 'update');
  assert.equal(s.rows[0].selfMs, 2); // the last sample has no following delta
  assert.equal(s.busyMs, 3);
  assert.equal(s.rows.find((r) => r.name === '(idle)').percentOfBusy, undefined);
});

test('the zot-ts server is started with the environment and node flags of the launcher shebang', async () => {
  const { shebangOf, ZOT_CLI } = await import('../lib/servers/zot.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'bench-shebang-'));
  const file = join(dir, 'launcher.js');
  writeFileSync(file, '#!/usr/bin/env -S A=1 B_=x=y node --flag-one --flag-two=2\nconsole.log(1);\n');
  assert.deepEqual(shebangOf(file), { env: { A: '1', B_: 'x=y' }, nodeArgs: ['--flag-one', '--flag-two=2'] });
  writeFileSync(file, '#!/usr/bin/env node\n');
  assert.deepEqual(shebangOf(file), { env: {}, nodeArgs: [] });
  const real = shebangOf(ZOT_CLI);
  assert.ok(real.nodeArgs.includes('--max-semi-space-size=4'), 'the real launcher sets its memory flags');
});
