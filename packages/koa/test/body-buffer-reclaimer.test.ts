import assert from 'node:assert/strict';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { test } from 'node:test';
import { BodyBufferReclaimer } from '../src/body-buffer-reclaimer.js';

test('one young-generation collection per `everyBytes` of body, none before; 0 never collects', () => {
  const calls: string[] = [];
  const reclaimer = new BodyBufferReclaimer(1024 * 1024, (options) => {
    calls.push(options.type);
  });
  reclaimer.add(512 * 1024);
  assert.equal(calls.join(), '');
  reclaimer.add(600 * 1024);
  assert.equal(calls.join(), 'minor', 'crossing 1 MiB collects the young generation');
  reclaimer.add(900 * 1024);
  assert.equal(calls.join(), 'minor', 'the count started again');
  const never = new BodyBufferReclaimer(0, () => {
    calls.push('unexpected');
  });
  never.add(64 * 1024 * 1024);
  assert.equal(calls.join(), 'minor');
});

test("V8's collector really runs, and no global gc function is left behind", async () => {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const reclaimer = new BodyBufferReclaimer(64 * 1024);
  for (let i = 0; i < 20; i++) reclaimer.add(64 * 1024);
  await new Promise((r) => setTimeout(r, 50)); // gc entries arrive asynchronously
  observer.disconnect();
  const minor = seen.filter((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR);
  assert.ok(minor.length >= 20, `20 young-generation collections seen (got ${minor.length})`);
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
});
