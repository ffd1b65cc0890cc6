/**
 * The security built by createSecurityFromConfig, in front of the real core handler and OCI-layout
 * storage over HTTPS: challenges, 401/403, access-control policies, the catalog, anonymous
 * read-only mode, and LDAP configured the zot way (credentials file, StartTLS, groups).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCertificates, type TestCertificates } from '../src/testing/certs.js';
import { htpasswdAvailable, htpasswdSet } from '../src/testing/htpasswd.js';
import { slapdAvailable, startSlapd, type SlapdServer } from '../src/testing/slapd.js';
import { call, startHttpsRegistry, type TestRegistry } from './helpers/https-registry.js';
import { captureLogger } from './helpers/logger.js';
import { pushImage } from './helpers/push.js';

const skip = htpasswdAvailable() ? false : 'htpasswd (apache2-utils) is not installed';
const skipLdap = slapdAvailable() && htpasswdAvailable() ? false : 'slapd / htpasswd not installed';

let dir: string;
let certs: TestCertificates;
let ca: Buffer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zot-regsec-'));
  certs = await generateCertificates(join(dir, 'certs'), { clients: [] });
  ca = await readFile(certs.ca.cert);
});
after(() => rm(dir, { recursive: true, force: true }));

describe('htpasswd and accessControl', { skip }, () => {
  let registry: TestRegistry;
  const logs = captureLogger();

  before(async () => {
    const htpasswd = join(dir, 'htpasswd');
    await htpasswdSet(htpasswd, 'admin', 'admin-secret', 'bcrypt');
    await htpasswdSet(htpasswd, 'alice', 'alice-secret', 'bcrypt');
    await htpasswdSet(htpasswd, 'bob', 'bob-secret', 'md5');
    registry = await startHttpsRegistry(
      {
        realm: 'zot-test',
        tls: { cert: certs.server.cert, key: certs.server.key },
        auth: { htpasswd: { path: htpasswd }, failDelay: 0 },
        accessControl: {
          repositories: {
            'team/*': {
              policies: [
                { users: ['alice'], actions: ['read'] },
                { users: ['bob'], actions: ['read', 'create'] },
              ],
            },
            'public/**': { defaultPolicy: ['read'] },
          },
          adminPolicy: { users: ['admin'], actions: ['read', 'create', 'update', 'delete'] },
        },
      },
      { logger: logs.logger },
    );
    assert.deepEqual(await pushImage(registry.url, 'team/app', 'v1', { ca, user: 'admin', password: 'admin-secret' }), [201, 201, 201]);
    assert.deepEqual(await pushImage(registry.url, 'public/base', 'v1', { ca, user: 'admin', password: 'admin-secret' }), [201, 201, 201]);
    assert.deepEqual(await pushImage(registry.url, 'secret/thing', 'v1', { ca, user: 'admin', password: 'admin-secret' }), [201, 201, 201]);
  });
  after(() => registry.close());

  test('without credentials: 401 with the Basic challenge and the UNAUTHORIZED error, on /v2/ and protected routes', async () => {
    for (const path of ['/v2/', '/v2/team/app/manifests/v1', '/v2/team/app/tags/list', '/v2/_catalog']) {
      const answer = await call(`${registry.url}${path}`, { ca });
      assert.equal(answer.status, 401, path);
      assert.equal(answer.headers['www-authenticate'], 'Basic realm="zot-test"', path);
      assert.equal(JSON.parse(answer.body).errors[0].code, 'UNAUTHORIZED', path);
    }
  });

  test('wrong password or unknown user: 401 with the challenge; the body and logs hold no secret', async () => {
    for (const [user, password] of [
      ['alice', 'not-alices-password'],
      ['nobody', 'alice-secret'],
    ]) {
      const answer = await call(`${registry.url}/v2/`, { ca, user, password });
      assert.equal(answer.status, 401);
      assert.equal(answer.headers['www-authenticate'], 'Basic realm="zot-test"');
      assert.ok(!answer.body.includes(password!));
    }
    assert.ok(!logs.text().includes('not-alices-password'));
    assert.ok(!logs.text().includes('admin-secret'));
    assert.ok(!logs.text().includes(Buffer.from('alice:not-alices-password').toString('base64')));
  });

  test('a policy allows a pull and denies a push (403 DENIED) to the same user', async () => {
    const alice = { ca, user: 'alice', password: 'alice-secret' };
    assert.equal((await call(`${registry.url}/v2/`, alice)).status, 200);
    assert.equal(
      (
        await call(`${registry.url}/v2/team/app/manifests/v1`, {
          ...alice,
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
        })
      ).status,
      200,
    );
    const push = await call(`${registry.url}/v2/team/app/blobs/uploads/`, { ...alice, method: 'POST' });
    assert.equal(push.status, 403);
    assert.equal(JSON.parse(push.body).errors[0].code, 'DENIED');
    const del = await call(`${registry.url}/v2/team/app/manifests/v1`, { ...alice, method: 'DELETE' });
    assert.equal(del.status, 403);
    // bob may push to team/* but read nothing elsewhere.
    assert.deepEqual(await pushImage(registry.url, 'team/bobs', 'v1', { ca, user: 'bob', password: 'bob-secret' }), [201, 201, 201]);
    assert.equal((await call(`${registry.url}/v2/secret/thing/manifests/v1`, { ca, user: 'bob', password: 'bob-secret' })).status, 403);
  });

  test("'update' is needed to move an existing tag (zot's rule; 'latest' only needs create)", async () => {
    const bob = { ca, user: 'bob', password: 'bob-secret' };
    assert.deepEqual(await pushImage(registry.url, 'team/tags', 'v1', bob), [201, 201, 201]);
    assert.deepEqual(await pushImage(registry.url, 'team/tags', 'v1', bob), [201, 201, 403], 'overwriting v1 needs update');
    assert.deepEqual(await pushImage(registry.url, 'team/tags', 'latest', bob), [201, 201, 201]);
    assert.deepEqual(await pushImage(registry.url, 'team/tags', 'latest', bob), [201, 201, 201]);
    assert.deepEqual(await pushImage(registry.url, 'team/tags', 'v1', { ca, user: 'admin', password: 'admin-secret' }), [201, 201, 201]);
  });

  test('the catalog lists only repositories the caller may read', async () => {
    const catalog = async (auth: object) =>
      JSON.parse((await call(`${registry.url}/v2/_catalog`, { ca, ...auth })).body).repositories as string[];
    assert.deepEqual(await catalog({ user: 'admin', password: 'admin-secret' }), [
      'public/base',
      'secret/thing',
      'team/app',
      'team/bobs',
      'team/tags',
    ]);
    assert.deepEqual(await catalog({ user: 'alice', password: 'alice-secret' }), ['public/base', 'team/app', 'team/bobs', 'team/tags']);
  });
});

describe('anonymous read-only mode', { skip }, () => {
  let registry: TestRegistry;
  before(async () => {
    const htpasswd = join(dir, 'htpasswd-ro');
    await htpasswdSet(htpasswd, 'writer', 'writer-secret', 'bcrypt');
    registry = await startHttpsRegistry({
      tls: { cert: certs.server.cert, key: certs.server.key },
      auth: { htpasswd: { path: htpasswd } },
      accessControl: { repositories: { '**': { anonymousPolicy: ['read'], defaultPolicy: ['read', 'create', 'update', 'delete'] } } },
    });
    await pushImage(registry.url, 'library/app', 'v1', { ca, user: 'writer', password: 'writer-secret' });
  });
  after(() => registry.close());

  test('anonymous callers pull; pushing asks them to log in; the /v2/ ping still challenges', async () => {
    // The ping answers 401 so that clients with credentials send them (they only do after a 401 there).
    const ping = await call(`${registry.url}/v2/`, { ca });
    assert.equal(ping.status, 401);
    assert.equal(ping.headers['www-authenticate'], 'Basic realm="Authorization Required"');
    assert.equal((await call(`${registry.url}/v2/library/app/manifests/v1`, { ca })).status, 200);
    // podman/skopeo without credentials answer the challenge with an empty user and password.
    assert.equal((await call(`${registry.url}/v2/library/app/manifests/v1`, { ca, headers: { authorization: 'Basic Og==' } })).status, 200);
    assert.equal((await call(`${registry.url}/v2/`, { ca, user: 'writer', password: 'writer-secret' })).status, 200);
    const push = await call(`${registry.url}/v2/library/app/blobs/uploads/`, { ca, method: 'POST' });
    assert.equal(push.status, 401);
    assert.equal(push.headers['www-authenticate'], 'Basic realm="Authorization Required"');
    // Wrong credentials are refused even where anonymous access would do.
    assert.equal((await call(`${registry.url}/v2/library/app/manifests/v1`, { ca, user: 'writer', password: 'nope' })).status, 401);
  });
});

describe('LDAP configured the zot way', { skip: skipLdap }, () => {
  let slapd: SlapdServer;
  let registry: TestRegistry;

  before(async () => {
    slapd = await startSlapd({
      dir: join(dir, 'slapd'),
      users: [
        { uid: 'dev1', password: 'dev1-secret' },
        { uid: 'guest', password: 'guest-secret' },
      ],
      groups: [{ cn: 'developers', members: ['dev1'] }],
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert },
    });
    const credentialsFile = join(dir, 'ldap-credentials.json');
    await writeFile(credentialsFile, JSON.stringify({ bindDN: slapd.bindDN, bindPassword: slapd.bindPassword }), { mode: 0o600 });
    registry = await startHttpsRegistry({
      tls: { cert: certs.server.cert, key: certs.server.key },
      auth: {
        ldap: {
          credentialsFile,
          address: '127.0.0.1',
          port: slapd.port,
          insecure: true,
          startTLS: true,
          caCert: certs.ca.cert,
          baseDN: slapd.peopleDN,
          userAttribute: 'uid',
          userGroupAttribute: 'memberOf',
          queryTimeout: 2,
        },
      },
      accessControl: {
        repositories: { '**': { policies: [{ groups: ['developers'], actions: ['read', 'create'] }], defaultPolicy: ['read'] } },
      },
    });
  });
  after(async () => {
    await registry?.close();
    await slapd?.stop();
  });

  test('group members may push, other users may pull, wrong passwords get 401', async () => {
    assert.deepEqual(await pushImage(registry.url, 'apps/web', 'v1', { ca, user: 'dev1', password: 'dev1-secret' }), [201, 201, 201]);
    assert.equal((await call(`${registry.url}/v2/apps/web/manifests/v1`, { ca, user: 'guest', password: 'guest-secret' })).status, 200);
    assert.equal(
      (await call(`${registry.url}/v2/apps/web/blobs/uploads/`, { ca, user: 'guest', password: 'guest-secret', method: 'POST' })).status,
      403,
    );
    const wrong = await call(`${registry.url}/v2/`, { ca, user: 'dev1', password: 'nope' });
    assert.equal(wrong.status, 401);
    assert.ok(wrong.headers['www-authenticate']);
    assert.equal((await call(`${registry.url}/v2/`, { ca, user: '*', password: 'dev1-secret' })).status, 401);
  });

  test('with slapd down: 503 quickly for a login not cached, not a hang', async () => {
    await slapd.stop();
    try {
      const started = Date.now();
      const answer = await call(`${registry.url}/v2/`, { ca, user: 'guest', password: 'another-password' });
      assert.equal(answer.status, 503);
      assert.equal(JSON.parse(answer.body).errors[0].code, 'UNAVAILABLE');
      assert.ok(!answer.body.includes('another-password'));
      assert.ok(Date.now() - started < 5000, `answered in ${Date.now() - started} ms`);
    } finally {
      await slapd.start();
    }
  });
});
