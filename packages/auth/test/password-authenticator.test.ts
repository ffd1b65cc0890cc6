import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryError, type AuthRequest } from '@zotjs/core';
import { CertificateOrPasswordAuthenticator } from '../src/composite.js';
import { FailureLimiter } from '../src/failure-limiter.js';
import { HtpasswdFile } from '../src/htpasswd/file.js';
import { MtlsAuthenticator } from '../src/mtls.js';
import { PasswordAuthenticator } from '../src/password-authenticator.js';
import { htpasswdAvailable, htpasswdSet } from '../src/testing/htpasswd.js';
import { BackendUnavailableError, type PasswordVerifier, type VerifyOutcome } from '../src/verifier.js';
import { captureLogger } from './helpers/logger.js';

const skip = htpasswdAvailable() ? false : 'htpasswd (apache2-utils) is not installed';

const request = (user?: string, password?: string, extra: Partial<AuthRequest> = {}): AuthRequest => ({
  method: 'GET',
  path: '/v2/',
  headers: user === undefined ? {} : { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
  remoteAddress: '192.0.2.1',
  ...extra,
});

/** Counts calls to the backend it wraps. */
class Counting implements PasswordVerifier {
  calls = 0;
  constructor(private readonly inner: PasswordVerifier) {}
  get name() {
    return this.inner.name;
  }
  get cacheTtlMs() {
    return this.inner.cacheTtlMs;
  }
  version() {
    return this.inner.version ? this.inner.version() : Promise.resolve(0);
  }
  verify(u: string, p: string) {
    this.calls++;
    return this.inner.verify(u, p);
  }
}

async function htpasswdBackend(
  users: Record<string, string>,
  checkIntervalMs = 0,
): Promise<{ file: HtpasswdFile; path: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'zot-pwauth-'));
  const path = join(dir, 'htpasswd');
  for (const [user, pw] of Object.entries(users)) await htpasswdSet(path, user, pw, 'bcrypt');
  return { file: await HtpasswdFile.open(path, { checkIntervalMs }), path, dir };
}

test('no credentials: anonymous; good ones: the user; wrong or malformed ones: rejected', { skip }, async () => {
  const { file, dir } = await htpasswdBackend({ alice: 'alice-pw' });
  try {
    const auth = new PasswordAuthenticator({ verifiers: [file], realm: 'zot' });
    assert.equal(auth.challenge(), 'Basic realm="zot"');
    assert.deepEqual(await auth.authenticate(request()), { kind: 'anonymous' });
    assert.deepEqual(await auth.authenticate(request('alice', 'alice-pw')), {
      kind: 'authenticated',
      identity: { username: 'alice', groups: [], method: 'basic' },
    });
    assert.equal((await auth.authenticate(request('alice', 'nope'))).kind, 'rejected');
    assert.equal((await auth.authenticate(request('mallory', 'alice-pw'))).kind, 'rejected');
    assert.equal((await auth.authenticate(request('alice', ''))).kind, 'rejected');
    assert.equal((await auth.authenticate({ ...request(), headers: { authorization: 'Bearer xyz' } })).kind, 'rejected');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('verified logins are cached: bcrypt runs once for many requests, and again after the file changes', { skip }, async () => {
  const { file, path, dir } = await htpasswdBackend({ alice: 'alice-pw' });
  try {
    const counting = new Counting(file);
    const auth = new PasswordAuthenticator({ verifiers: [counting], realm: 'zot' });
    for (let i = 0; i < 20; i++) assert.equal((await auth.authenticate(request('alice', 'alice-pw'))).kind, 'authenticated');
    assert.equal(counting.calls, 1);
    // Parallel first requests share one verification too.
    await htpasswdSet(path, 'zed', 'zed-pw', 'bcrypt');
    const parallel = await Promise.all(Array.from({ length: 8 }, () => auth.authenticate(request('zed', 'zed-pw'))));
    assert.ok(parallel.every((r) => r.kind === 'authenticated'));
    assert.equal(counting.calls, 2);
    // A wrong password is never answered from the cache of the right one.
    assert.equal((await auth.authenticate(request('alice', 'alice-pw2'))).kind, 'rejected');
    assert.equal(counting.calls, 3);
    // Changing the password in the file drops the cached login at once.
    await htpasswdSet(path, 'alice', 'new-pw', 'bcrypt');
    assert.equal((await auth.authenticate(request('alice', 'alice-pw'))).kind, 'rejected');
    assert.equal((await auth.authenticate(request('alice', 'new-pw'))).kind, 'authenticated');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('failDelay slows failed logins only; a locked user name gets 429 at once, other users from the same address get in at once', {
  skip,
}, async () => {
  const { file, dir } = await htpasswdBackend({ alice: 'alice-pw', bob: 'bob-pw' });
  try {
    // A fake clock and sleep record every wait the limiter imposes, without real waiting.
    let now = 0;
    const sleeps: number[] = [];
    const limiter = new FailureLimiter({
      failDelaySeconds: 0.2,
      freeFailures: 2,
      basePenaltyMs: 5000,
      maxPenaltyMs: 5000,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    const auth = new PasswordAuthenticator({ verifiers: [file], realm: 'zot', limiter });
    assert.equal((await auth.authenticate(request('alice', 'alice-pw'))).kind, 'authenticated');
    assert.deepEqual(sleeps, [], 'a good login is not delayed');
    assert.equal((await auth.authenticate(request('alice', 'bad'))).kind, 'rejected');
    assert.deepEqual(sleeps, [200], 'failDelay');
    await auth.authenticate(request('alice', 'bad'));
    assert.deepEqual(sleeps, [200, 200]);
    // Two failures for alice from 192.0.2.1: her next attempt there is refused at once, with a Retry-After,
    // whether the password is right or not (it is not even checked).
    for (const password of ['bad', 'alice-pw2']) {
      await assert.rejects(auth.authenticate(request('alice', password)), (err: unknown) => {
        assert.ok(err instanceof RegistryError);
        assert.equal(err.status, 429);
        assert.equal(err.headers['Retry-After'], '5');
        return true;
      });
    }
    assert.deepEqual(sleeps, [200, 200], 'a refused attempt does not wait');
    // Bob, from the same address, logs in at once; so does alice from another address.
    assert.equal((await auth.authenticate(request('bob', 'bob-pw'))).kind, 'authenticated');
    assert.equal((await auth.authenticate(request('alice', 'alice-pw', { remoteAddress: '192.0.2.2' }))).kind, 'authenticated');
    // Her cached good login is served at once everywhere, and clears the lock.
    assert.equal((await auth.authenticate(request('alice', 'alice-pw'))).kind, 'authenticated');
    assert.equal(sleeps.length, 2);
    await auth.authenticate(request('alice', 'bad'));
    assert.deepEqual(sleeps.slice(2), [200], 'back to failDelay only');
    // Once the lock has passed, the password is checked again.
    now += 5000;
    assert.equal((await auth.authenticate(request('alice', 'bad'))).kind, 'rejected');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('backends are tried in order; an unavailable one is skipped, and 503 only when no backend knows the user', async () => {
  const fixed = (name: string, users: Record<string, string>): PasswordVerifier => ({
    name,
    cacheTtlMs: 60_000,
    async verify(u, p): Promise<VerifyOutcome> {
      if (!(u in users)) return { ok: false, reason: 'unknown-user' };
      return users[u] === p ? { ok: true, groups: [name] } : { ok: false, reason: 'wrong-password' };
    },
  });
  const down: PasswordVerifier = {
    name: 'down',
    cacheTtlMs: 0,
    async verify() {
      throw new BackendUnavailableError('down', 'connection refused');
    },
  };
  const auth = new PasswordAuthenticator({ verifiers: [fixed('first', { a: '1' }), down, fixed('third', { b: '2' })], realm: 'r' });
  const a = await auth.authenticate(request('a', '1'));
  assert.deepEqual(a.kind === 'authenticated' && a.identity.groups, ['first']);
  const b = await auth.authenticate(request('b', '2'));
  assert.deepEqual(b.kind === 'authenticated' && b.identity.groups, ['third']);
  await assert.rejects(auth.authenticate(request('c', '3')), (err: unknown) => err instanceof RegistryError && err.status === 503);
});

test('secrets never reach the logs', { skip }, async () => {
  const { file, dir } = await htpasswdBackend({ alice: 'alice-secret-pw' });
  try {
    const { logger, text } = captureLogger();
    const auth = new PasswordAuthenticator({ verifiers: [file], realm: 'zot', logger });
    const header = request('alice', 'wrong-secret-pw').headers.authorization!;
    await auth.authenticate(request('alice', 'wrong-secret-pw'));
    await auth.authenticate(request('alice', 'alice-secret-pw'));
    await auth.authenticate({ ...request(), headers: { authorization: 'Basic bm9jb2xvbi1zZWNyZXQ=' } });
    const logged = text();
    for (const secret of ['alice-secret-pw', 'wrong-secret-pw', header.slice(6), 'bm9jb2xvbi1zZWNyZXQ', 'nocolon-secret']) {
      assert.ok(!logged.includes(secret), `"${secret}" leaked into:\n${logged}`);
    }
    assert.ok(logged.includes('authentication failed'), 'failures are logged (without secrets)');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('mTLS: a verified certificate CN is the identity; one without CN is refused; none is anonymous', async () => {
  const auth = new MtlsAuthenticator({ realm: 'zot' });
  assert.deepEqual(await auth.authenticate(request(undefined, undefined, { clientCertificate: { subjectCommonName: 'alice' } })), {
    kind: 'authenticated',
    identity: { username: 'alice', groups: [], method: 'mtls' },
  });
  assert.equal((await auth.authenticate(request(undefined, undefined, { clientCertificate: {} }))).kind, 'rejected');
  assert.deepEqual(await auth.authenticate(request()), { kind: 'anonymous' });
});

test('mixed mode: certificate or password; wrong credentials are refused even with a certificate', { skip }, async () => {
  const { file, dir } = await htpasswdBackend({ bob: 'bob-pw' });
  try {
    const auth = new CertificateOrPasswordAuthenticator(new PasswordAuthenticator({ verifiers: [file], realm: 'zot' }));
    const cert = { clientCertificate: { subjectCommonName: 'alice' } };
    const viaCert = await auth.authenticate(request(undefined, undefined, cert));
    assert.equal(viaCert.kind === 'authenticated' && viaCert.identity.username, 'alice');
    const viaPassword = await auth.authenticate(request('bob', 'bob-pw'));
    assert.equal(viaPassword.kind === 'authenticated' && viaPassword.identity.username, 'bob');
    const both = await auth.authenticate(request('bob', 'bob-pw', cert));
    assert.equal(both.kind === 'authenticated' && both.identity.username, 'bob', 'credentials, when sent, decide');
    assert.equal((await auth.authenticate(request('bob', 'wrong', cert))).kind, 'rejected');
    assert.deepEqual(await auth.authenticate(request()), { kind: 'anonymous' });
    assert.equal(auth.challenge(), 'Basic realm="zot"');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
