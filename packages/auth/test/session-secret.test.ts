// Without sessionKeysFile the cookie key is made once and kept in the session store, so every process sharing it agrees.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalSessionStore, RedisSessionStore } from '../src/session/store.js';
import { redisAvailable, startRedis } from '../src/testing/redis.js';

test('local stores over the same folder share one secret (the first one written), kept 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zot-session-secret-'));
  try {
    const [a, b] = [new LocalSessionStore(dir), new LocalSessionStore(dir)];
    const values = await Promise.all([a.sharedSecret('k', 'first-candidate'), b.sharedSecret('k', 'other-candidate')]);
    assert.equal(values[0], values[1]);
    assert.equal(await new LocalSessionStore(dir).sharedSecret('k', 'after-restart'), values[0], 'a restart keeps it');
    assert.equal((await stat(join(dir, 'k.secret'))).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Redis stores share one secret', { skip: redisAvailable() ? false : 'redis-server is not installed' }, async () => {
  const redis = await startRedis();
  const stores = [new RedisSessionStore({ url: redis.url, keyPrefix: 't' }), new RedisSessionStore({ url: redis.url, keyPrefix: 't' })];
  try {
    const first = await stores[0]!.sharedSecret('k', 'one');
    assert.equal(first, 'one');
    assert.equal(await stores[1]!.sharedSecret('k', 'two'), 'one');
  } finally {
    for (const store of stores) await store.close();
    await redis.stop();
  }
});
