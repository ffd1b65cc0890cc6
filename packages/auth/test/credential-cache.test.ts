import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CredentialCache } from '../src/credential-cache.js';

const identity = { username: 'alice', groups: [], method: 'basic' };

test('a cached login is served until its TTL runs out', () => {
  let now = 1000;
  const cache = new CredentialCache({ now: () => now });
  const key = cache.keyOf('alice', 'secret');
  cache.set(key, identity, 'htpasswd', 1, 500);
  assert.deepEqual(cache.get(key, () => 1)?.identity, identity);
  now += 499;
  assert.ok(cache.get(key, () => 1));
  now += 1;
  assert.equal(
    cache.get(key, () => 1),
    undefined,
  );
  assert.equal(cache.size, 0);
});

test('a change of the backend version drops the cached login', () => {
  const cache = new CredentialCache();
  const key = cache.keyOf('alice', 'secret');
  cache.set(key, identity, 'htpasswd', 1, 60_000);
  assert.equal(
    cache.get(key, () => 2),
    undefined,
  );
  assert.equal(
    cache.get(key, () => 1),
    undefined,
    'the stale entry is gone',
  );
});

test('keys are keyed hashes: no password inside, different per instance, no user/password ambiguity', () => {
  const a = new CredentialCache();
  const b = new CredentialCache();
  const key = a.keyOf('alice', 'hunter2');
  assert.ok(!key.includes('hunter2') && !key.includes('alice'));
  assert.notEqual(key, b.keyOf('alice', 'hunter2'));
  assert.notEqual(a.keyOf('a:b', 'c'), a.keyOf('a', 'b:c'));
  assert.notEqual(a.keyOf('alice', 'x'), a.keyOf('alice', 'y'));
});

test('the cache is bounded; the oldest entries go first', () => {
  const cache = new CredentialCache({ maxEntries: 3 });
  const keys = ['u1', 'u2', 'u3', 'u4'].map((u) => cache.keyOf(u, 'pw'));
  for (const key of keys) cache.set(key, identity, 'h', 1, 60_000);
  assert.equal(cache.size, 3);
  assert.equal(
    cache.get(keys[0]!, () => 1),
    undefined,
  );
  assert.ok(cache.get(keys[3]!, () => 1));
});
