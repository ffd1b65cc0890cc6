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
  await limiter.onFailure('10.0.0.1', 'alice');
  await limiter.onFailure(undefined, 'alice');
  assert.deepEqual(clock.slept, [2000, 2000]);
});

test('after the free failures a user name is locked from that address, for a doubling delay, without waiting', async () => {
  const { clock, now, sleep } = fakeClock();
  const limiter = new FailureLimiter({ freeFailures: 3, basePenaltyMs: 100, maxPenaltyMs: 1000, now, sleep });
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(limiter.check('a', 'alice'), { allowed: true });
    await limiter.onFailure('a', 'alice');
  }
  assert.deepEqual(limiter.check('a', 'alice'), { allowed: true }, 'free failures cost nothing');
  await limiter.onFailure('a', 'alice');
  assert.deepEqual(limiter.check('a', 'alice'), { allowed: false, retryAfterMs: 100 });
  clock.now += 100;
  assert.deepEqual(limiter.check('a', 'alice'), { allowed: true });
  await limiter.onFailure('a', 'alice');
  assert.deepEqual(limiter.check('a', 'alice'), { allowed: false, retryAfterMs: 200 });
  assert.deepEqual(clock.slept, [], 'nothing ever sleeps without failDelay');
  // Another user from the same address, and the same user from another address, are not affected.
  assert.deepEqual(limiter.check('a', 'bob'), { allowed: true });
  assert.deepEqual(limiter.check('b', 'alice'), { allowed: true });
});

test('success clears a pair; old failures are forgotten after the window', async () => {
  let now = 0;
  const limiter = new FailureLimiter({ freeFailures: 1, windowMs: 1000, now: () => now, sleep: async () => {} });
  await limiter.onFailure('a', 'alice');
  assert.equal(limiter.failuresOf('a', 'alice'), 1);
  limiter.onSuccess('a', 'alice');
  assert.equal(limiter.failuresOf('a', 'alice'), 0);
  await limiter.onFailure('b', 'alice');
  now = 1001;
  assert.equal(limiter.failuresOf('b', 'alice'), 0);
  assert.deepEqual(limiter.check('b', 'alice'), { allowed: true });
});

test('the number of tracked pairs is bounded', async () => {
  const limiter = new FailureLimiter({ maxRecords: 2, sleep: async () => {} });
  await limiter.onFailure('a', 'u');
  await limiter.onFailure('b', 'u');
  await limiter.onFailure('c', 'u');
  assert.equal(limiter.failuresOf('a', 'u'), 0);
  assert.equal(limiter.failuresOf('c', 'u'), 1);
});

test('IPv4-mapped IPv6 addresses count as the IPv4 address', () => {
  assert.equal(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeAddress('::1'), '::1');
  assert.equal(normalizeAddress(''), undefined);
});
