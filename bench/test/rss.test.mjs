// The memory sampler against real processes: a parent and the child it started (as a zot-ts
// primary and its workers) are measured together.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { processTree, RssSampler } from '../lib/rss.mjs';

const rssOf = (pid) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

test('a process and its child are sampled together, with their PSS', async (t) => {
  // The parent starts a child that holds 64 MB, then reports the child's pid once the child says
  // its buffer is filled (a fixed wait is not enough on a loaded machine: node may not even have started).
  const script = `
    const { spawn } = require('node:child_process');
    const child = spawn(process.execPath, ['-e', 'globalThis.b = Buffer.alloc(64 * 1024 * 1024, 1); console.log("filled"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.once('data', () => console.log(child.pid));
    setInterval(() => {}, 1000);
    process.on('SIGTERM', () => { child.kill(); process.exit(0); });`;
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => parent.kill('SIGTERM'));
  const childPid = Number(await new Promise((resolve) => parent.stdout.once('data', (d) => resolve(String(d).trim()))));

  assert.deepEqual(processTree(parent.pid).sort(), [parent.pid, childPid].sort());
  const sampler = new RssSampler(parent.pid, 10).start();
  await new Promise((r) => setTimeout(r, 50));
  const peak = sampler.stop();
  const both = rssOf(parent.pid) + rssOf(childPid);
  assert.ok(peak >= both * 0.95, `peak ${peak} covers both processes (${both})`);
  assert.ok(peak > 64 * 1024 * 1024, "the child's 64 MB are in it");
  const pss = sampler.peakProportional();
  assert.ok(pss !== undefined && pss > 64 * 1024 * 1024 && pss <= peak, `PSS ${pss} is within the RSS sum and holds the child's buffer`);
});

test('one process alone: no PSS figure', async (t) => {
  const alone = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => alone.kill());
  await new Promise((r) => setTimeout(r, 200));
  const sampler = new RssSampler(alone.pid, 10).start();
  assert.ok(sampler.stop() > 0);
  assert.equal(sampler.peakProportional(), undefined);
});
