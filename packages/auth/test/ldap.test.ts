/**
 * LDAP login against a real OpenLDAP slapd started by the test (plain, StartTLS, LDAPS), including
 * injection attempts, group lookup, caching, and slapd stopping or hanging mid-test.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LdapVerifier, type LdapVerifierOptions } from '../src/ldap/verifier.js';
import { PasswordAuthenticator } from '../src/password-authenticator.js';
import { BackendUnavailableError } from '../src/verifier.js';
import { RegistryError } from '@zotjs/core';
import { generateCertificates, type TestCertificates } from '../src/testing/certs.js';
import { slapdAvailable, startSlapd, type SlapdServer } from '../src/testing/slapd.js';
import { captureLogger } from './helpers/logger.js';

const skip = slapdAvailable() ? false : 'slapd and ldap-utils are not installed';

const USERS = [
  { uid: 'alice', password: 'alice-pw' },
  { uid: 'bob', password: 'bob-pw' },
  { uid: 'carol', password: 'carol-pw' },
];
const GROUPS = [
  { cn: 'developers', members: ['alice', 'bob'] },
  { cn: 'admins', members: ['alice'] },
];

describe('LDAP authentication against a real slapd', { skip }, () => {
  let dir: string;
  let certs: TestCertificates;
  let slapd: SlapdServer;
  let ca: string;
  const verifiers: LdapVerifier[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zot-ldap-'));
    certs = await generateCertificates(join(dir, 'certs'));
    ca = await readFile(certs.ca.cert, 'utf8');
    slapd = await startSlapd({
      dir: join(dir, 'slapd'),
      users: USERS,
      groups: GROUPS,
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert },
    });
  });

  after(async () => {
    await Promise.all(verifiers.map((v) => v.close()));
    await slapd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function verifier(overrides: Partial<LdapVerifierOptions> = {}): LdapVerifier {
    const v = new LdapVerifier({
      address: '127.0.0.1',
      port: slapd.port,
      transport: 'plain',
      ca,
      baseDN: slapd.peopleDN,
      userAttribute: 'uid',
      userGroupAttribute: 'memberOf',
      bindDN: slapd.bindDN,
      bindPassword: slapd.bindPassword,
      timeoutMs: 1500,
      ...overrides,
    });
    verifiers.push(v);
    return v;
  }

  for (const transport of ['plain', 'starttls', 'ldaps'] as const) {
    test(`${transport}: right password, wrong password, unknown user`, async () => {
      const v = verifier({ transport, port: transport === 'ldaps' ? slapd.ldapsPort! : slapd.port });
      const ok = await v.verify('alice', 'alice-pw');
      assert.equal(ok.ok, true);
      assert.deepEqual(await v.verify('alice', 'bob-pw'), { ok: false, reason: 'wrong-password' });
      assert.deepEqual(await v.verify('nobody', 'alice-pw'), { ok: false, reason: 'unknown-user' });
    });
  }

  test('StartTLS and LDAPS verify the server certificate: an unknown CA is refused', async () => {
    const rogue = await readFile(certs.rogueCa.cert, 'utf8');
    for (const transport of ['starttls', 'ldaps'] as const) {
      const v = verifier({ transport, ca: rogue, port: transport === 'ldaps' ? slapd.ldapsPort! : slapd.port });
      await assert.rejects(v.verify('alice', 'alice-pw'), BackendUnavailableError, transport);
    }
    // skipVerify accepts it (zot's option, for testing setups).
    const v = verifier({ transport: 'ldaps', port: slapd.ldapsPort!, ca: rogue, skipVerify: true });
    assert.equal((await v.verify('alice', 'alice-pw')).ok, true);
  });

  test('groups come from memberOf, as DNs and as their CN', async () => {
    const result = await verifier().verify('alice', 'alice-pw');
    assert.ok(result.ok);
    const groups = [...result.groups].sort();
    assert.deepEqual(groups, [
      'admins',
      'cn=admins,ou=groups,dc=example,dc=org',
      'cn=developers,ou=groups,dc=example,dc=org',
      'developers',
    ]);
    const carol = await verifier().verify('carol', 'carol-pw');
    assert.deepEqual(carol, { ok: true, groups: [] });
  });

  test('an empty password is refused without binding (it would be an anonymous bind)', async () => {
    const before = slapd.bindCount('uid=alice');
    assert.deepEqual(await verifier().verify('alice', ''), { ok: false, reason: 'empty-password' });
    assert.equal(slapd.bindCount('uid=alice'), before);
  });

  test('filter injection cannot widen the search', async () => {
    const v = verifier();
    // Each of these would find alice (or everyone) if pasted into the filter unescaped.
    for (const username of [
      '*',
      'a*',
      'ali*',
      '*)(uid=*',
      'alice)(|(uid=*',
      'alice)(uid=*',
      '*)(objectClass=*',
      'al\\69ce',
      'alice\u0000',
      '(uid=alice)',
    ]) {
      assert.deepEqual(await v.verify(username, 'alice-pw'), { ok: false, reason: 'unknown-user' }, JSON.stringify(username));
    }
    assert.equal((await v.verify('alice', 'alice-pw')).ok, true, 'the connection is still fine');
  });

  test('subtreeSearch: users below baseDN are found only with it', async () => {
    const oneLevel = verifier({ baseDN: slapd.suffix });
    assert.deepEqual(await oneLevel.verify('alice', 'alice-pw'), { ok: false, reason: 'unknown-user' });
    const subtree = verifier({ baseDN: slapd.suffix, subtreeSearch: true });
    assert.equal((await subtree.verify('alice', 'alice-pw')).ok, true);
  });

  test('userFilter restricts which entries may log in', async () => {
    const v = verifier({ userFilter: '(cn=bob)' });
    assert.deepEqual(await v.verify('alice', 'alice-pw'), { ok: false, reason: 'unknown-user' });
    assert.equal((await v.verify('bob', 'bob-pw')).ok, true);
  });

  test('a wrong service account password makes the backend unavailable (and is not logged)', async () => {
    const { logger, text } = captureLogger();
    const v = verifier({ bindPassword: 'wrong-service-secret', logger });
    await assert.rejects(v.verify('alice', 'alice-pw'), BackendUnavailableError);
    assert.ok(!text().includes('wrong-service-secret'));
    assert.ok(!text().includes('alice-pw'));
  });

  test('without the service bind the anonymous search is refused by the ACL: backend error, not a login', async () => {
    const v = verifier({ bindDN: undefined, bindPassword: undefined });
    await assert.rejects(v.verify('alice', 'alice-pw'), /Insufficient Access/);
  });

  test('connections are reused: many logins, one connection for searches', async () => {
    const v = verifier();
    const serviceBinds = slapd.bindCount('cn=reader');
    for (let i = 0; i < 5; i++) assert.equal((await v.verify('bob', 'bob-pw')).ok, true);
    assert.equal(slapd.bindCount('cn=reader') - serviceBinds, 1, 'one service bind for five searches');
  });

  test('the authenticator caches logins: 20 requests cost one user bind', async () => {
    const auth = new PasswordAuthenticator({ verifiers: [verifier()], realm: 'zot' });
    const header = `Basic ${Buffer.from('bob:bob-pw').toString('base64')}`;
    const before = slapd.bindCount('uid=bob');
    const login = () => auth.authenticate({ method: 'GET', path: '/v2/', headers: { authorization: header } });
    // 10 at once (they share one verification), then 10 more served from the cache.
    const first = await Promise.all(Array.from({ length: 10 }, login));
    const second = await Promise.all(Array.from({ length: 10 }, login));
    assert.ok([...first, ...second].every((r) => r.kind === 'authenticated'));
    assert.equal(slapd.bindCount('uid=bob') - before, 1);
  });

  test('slapd stopped mid-test: quick 503, cached logins keep working, recovery when it is back', async () => {
    const v = verifier();
    const auth = new PasswordAuthenticator({ verifiers: [v], realm: 'zot' });
    const header = (user: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });
    assert.equal((await auth.authenticate({ method: 'GET', path: '/v2/', headers: header('alice', 'alice-pw') })).kind, 'authenticated');

    await slapd.stop();
    try {
      const started = Date.now();
      await assert.rejects(
        auth.authenticate({ method: 'GET', path: '/v2/', headers: header('bob', 'bob-pw') }),
        (err: unknown) => err instanceof RegistryError && err.status === 503 && !err.message.includes('bob-pw'),
      );
      assert.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);
      // A login verified before the outage is still served from the cache.
      assert.equal((await auth.authenticate({ method: 'GET', path: '/v2/', headers: header('alice', 'alice-pw') })).kind, 'authenticated');
    } finally {
      await slapd.start();
    }
    assert.equal((await auth.authenticate({ method: 'GET', path: '/v2/', headers: header('bob', 'bob-pw') })).kind, 'authenticated');
    assert.deepEqual(await v.verify('carol', 'wrong'), { ok: false, reason: 'wrong-password' });
  });

  test('a hung slapd (SIGSTOP) times out instead of hanging, then recovers', async () => {
    const v = verifier({ timeoutMs: 700 });
    assert.equal((await v.verify('alice', 'alice-pw')).ok, true);
    const pid = slapd.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      // Signal delivery is asynchronous: wait until the kernel reports the process stopped.
      for (let i = 0; i < 100 && !(await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.startsWith('T'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const started = Date.now();
      await assert.rejects(v.verify('bob', 'bob-pw'), BackendUnavailableError);
      const elapsed = Date.now() - started;
      // One deadline for the reused connection, at most one more for a fresh one.
      assert.ok(elapsed < 4000, `gave up after ${elapsed} ms`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.equal((await v.verify('bob', 'bob-pw')).ok, true);
  });
});
