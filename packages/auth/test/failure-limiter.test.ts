import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureLimiter, normalizeAddress } from '../src/failure-limiter.js';

function fakeClock() {
  const clock = { now: 0, slept: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.slept.push(ms);
      clock.now += ms;
    },
  };
}

test('failDelay makes every failed attempt wait', async () => {
  const { clock, now, sleep } = fakeClock();
  const limiter = new FailureLimiter({ failDelaySeconds: 2, now, sleep });
  await limiter.onFailure('10.0.0.1');
  await limiter.onFailure(undefined);
  assert.deepEqual(clock.slept, [2000, 2000]);
});

test('after the free failures, attempts from that address are spaced by a doubling delay', async () => {
  const { clock, now, sleep } = fakeClock();
  const limiter = new FailureLimiter({ freeFailures: 3, basePenaltyMs: 100, maxPenaltyMs: 1000, now, sleep });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await limiter.beforeAttempt('a'), { allowed: true });
    await limiter.onFailure('a');
  }
  assert.deepEqual(clock.slept, [], 'free failures cost nothing');
  await limiter.beforeAttempt('a');
  assert.deepEqual(clock.slept, [100]);
  await limiter.onFailure('a');
  await limiter.beforeAttempt('a');
  assert.deepEqual(clock.slept, [100, 200]);
  // Another address is not affected.
  await limiter.beforeAttempt('b');
  assert.deepEqual(clock.slept, [100, 200]);
});

test('parallel attempts from a penalised address are queued, and refused when the queue is too long', async () => {
  let now = 0;
  const limiter = new FailureLimiter({
    freeFailures: 1,
    basePenaltyMs: 1000,
    maxPenaltyMs: 1000,
    maxWaitMs: 2500,
    now: () => now,
    sleep: async () => {},
  });
  await limiter.onFailure('a');
  const permits = [];
  for (let i = 0; i < 5; i++) permits.push(await limiter.beforeAttempt('a'));
  // Slots at 1000, 2000 are within 2500 ms; the next ones would wait 3000 ms and more.
  assert.deepEqual(
    permits.map((p) => p.allowed),
    [true, true, false, false, false],
  );
  now = 10_000;
  assert.equal((await limiter.beforeAttempt('a')).allowed, true);
});

test('success clears an address; old failures are forgotten after the window', async () => {
  let now = 0;
  const limiter = new FailureLimiter({ freeFailures: 1, windowMs: 1000, now: () => now, sleep: async () => {} });
  await limiter.onFailure('a');
  assert.equal(limiter.failuresOf('a'), 1);
  limiter.onSuccess('a');
  assert.equal(limiter.failuresOf('a'), 0);
  await limiter.onFailure('b');
  now = 1001;
  assert.equal(limiter.failuresOf('b'), 0);
});

test('the number of tracked addresses is bounded', async () => {
  const limiter = new FailureLimiter({ maxAddresses: 2, sleep: async () => {} });
  await limiter.onFailure('a');
  await limiter.onFailure('b');
  await limiter.onFailure('c');
  assert.equal(limiter.failuresOf('a'), 0);
  assert.equal(limiter.failuresOf('c'), 1);
});

test('IPv4-mapped IPv6 addresses count as the IPv4 address', () => {
  assert.equal(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeAddress('::1'), '::1');
  assert.equal(normalizeAddress(''), undefined);
});
