import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BodyBufferReclaimer, GcNotExposedError } from '../src/body-buffer-reclaimer.js';

/** In a child started with --expose-gc: 20 reclaims of 64 KiB each, then the young collections seen. */
async function countYoungCollections(): Promise<number> {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const reclaimer = new BodyBufferReclaimer(64 * 1024);
  for (let i = 0; i < 20; i++) reclaimer.add(64 * 1024);
  await new Promise((r) => setTimeout(r, 50)); // gc entries arrive asynchronously
  observer.disconnect();
  return seen.filter((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)
    .length;
}

if (process.argv[2] === 'count-young-collections') {
  void countYoungCollections().then((count) => process.send!({ count }));
} else {
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

  test("V8's collector really runs in a process started with --expose-gc", async () => {
    const child = fork(fileURLToPath(import.meta.url), ['count-young-collections'], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const reply = new Promise<{ count: number }>((resolve) => child.once('message', (m) => resolve(m as { count: number })));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const [{ count }, code] = await Promise.all([reply, exited]);
    assert.equal(code, 0, stderr);
    assert.ok(count >= 20, `20 young-generation collections seen (got ${count})`);
  });

  test('without --expose-gc it refuses to be turned on, and exposes no global gc function itself', () => {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'this test process runs without --expose-gc');
    assert.throws(
      () => new BodyBufferReclaimer(64 * 1024),
      (err: Error) => err instanceof GcNotExposedError && /--expose-gc/.test(err.message),
    );
    assert.doesNotThrow(() => new BodyBufferReclaimer(0), 'off needs no gc');
    assert.throws(() => new BodyBufferReclaimer(-1), RangeError);
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  });
}
