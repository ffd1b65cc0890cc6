/**
 * The built-in token service and the bearer resource server together, through the real core
 * handler and OCI-layout storage: challenges naming the exact scope, GET and OAuth2 POST token
 * requests against htpasswd users and accessControl, refresh tokens, key rotation, and every
 * kind of bad token refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHmac, createPrivateKey } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, decodeProtectedHeader, decodeJwt } from 'jose';
import { AccessTokenVerifier } from '../src/bearer/verifier.js';
import { BearerAuthenticator } from '../src/bearer/authenticator.js';
import { CombinedKeySource, PublicKeyFile } from '../src/bearer/keys.js';
import { SigningKeySet } from '../src/token-service/signing-keys.js';
import { TokenService } from '../src/token-service/service.js';
import { tokenRoutes } from '../src/token-service/routes.js';
import { HtpasswdFile } from '../src/htpasswd/file.js';
import { PasswordAuthenticator } from '../src/password-authenticator.js';
import { AccessControlAuthorizer } from '../src/policy/access-control.js';
import { htpasswdAvailable, htpasswdSet } from '../src/testing/htpasswd.js';
import { run } from '../src/testing/run.js';
import { basic, bearer, pushWith, startHandler, type TestHandler } from './helpers/handler.js';
import { captureLogger } from './helpers/logger.js';

const skip = htpasswdAvailable() ? false : 'htpasswd (apache2-utils) is not installed';
const SERVICE = 'zot-test';
const ISSUER = 'https://registry.test/zot';

function pem(kind: 'ec' | 'rsa'): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } =
    kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

describe('token service and bearer resource server', { skip }, () => {
  let dir: string;
  let keysDir: string;
  let keys: SigningKeySet;
  let service: TokenService;
  let h: TestHandler;
  const logs = captureLogger();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zot-tokens-'));
    keysDir = join(dir, 'keys');
    await mkdir(keysDir);
    await writeFile(join(keysDir, 'a.pem'), pem('ec').privatePem, { mode: 0o600 });
    const htpasswd = join(dir, 'htpasswd');
    await htpasswdSet(htpasswd, 'admin', 'admin-secret-pw');
    await htpasswdSet(htpasswd, 'alice', 'alice-secret-pw');
    await htpasswdSet(htpasswd, 'bob', 'bob-secret-pw');
    const authorizer = new AccessControlAuthorizer({
      repositories: {
        'team/**': {
          policies: [
            { users: ['alice'], groups: [], actions: ['read'] },
            { users: ['bob'], groups: [], actions: ['read', 'create'] },
          ],
          defaultPolicy: [],
          anonymousPolicy: [],
        },
        'public/**': { policies: [], defaultPolicy: ['read'], anonymousPolicy: ['read'] },
      },
      adminPolicy: { users: ['admin'], groups: [], actions: ['read', 'create', 'update', 'delete'] },
      groups: {},
    });
    keys = await SigningKeySet.open(keysDir, { checkIntervalMs: 0 });
    service = new TokenService({ issuer: ISSUER, service: SERVICE, keys, authorizer });
    const password = new PasswordAuthenticator({
      verifiers: [await HtpasswdFile.open(htpasswd, { checkIntervalMs: 0 })],
      realm: 'zot-test',
      logger: logs.logger,
    });
    const authenticator = new BearerAuthenticator({
      realm: 'https://registry.test/zot/auth/token',
      service: SERVICE,
      tokens: new AccessTokenVerifier({ keys, audience: SERVICE, issuer: ISSUER }),
      policyIssuer: ISSUER,
      logger: logs.logger,
    });
    h = await startHandler({
      authenticator,
      authorizer,
      extraRoutes: tokenRoutes({ service, credentials: password, logger: logs.logger }),
      logger: logs.logger,
    });
  });
  after(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function tokenFor(user: string | undefined, ...scopes: string[]): Promise<string> {
    const query = new URLSearchParams({ service: SERVICE });
    for (const s of scopes) query.append('scope', s);
    const reply = await h.send('GET', `/zot/auth/token?${query}`, { headers: user ? basic(user, `${user}-secret-pw`) : {} });
    assert.equal(reply.status, 200, reply.text);
    const body = reply.json() as { token: string; access_token: string; expires_in: number; issued_at: string };
    assert.equal(body.token, body.access_token);
    assert.equal(body.expires_in, 300);
    assert.ok(!Number.isNaN(Date.parse(body.issued_at)));
    assert.equal(reply.headers['Cache-Control'], 'no-store');
    return body.token;
  }

  test('without a token: 401 with a Bearer challenge naming exactly the scope the request needs', async () => {
    const realm = 'Bearer realm="https://registry.test/zot/auth/token",service="zot-test"';
    assert.equal((await h.send('GET', '/v2/')).headers['WWW-Authenticate'], realm);
    const pull = await h.send('GET', '/v2/team/app/manifests/v1');
    assert.equal(pull.status, 401);
    assert.equal(pull.headers['WWW-Authenticate'], `${realm},scope="repository:team/app:pull"`);
    const push = await h.send('POST', '/v2/team/app/blobs/uploads/');
    assert.equal(push.headers['WWW-Authenticate'], `${realm},scope="repository:team/app:pull,push"`);
    const del = await h.send('DELETE', '/v2/team/app/manifests/v1');
    assert.equal(del.headers['WWW-Authenticate'], `${realm},scope="repository:team/app:delete"`);
    const catalog = await h.send('GET', '/v2/_catalog');
    assert.equal(catalog.headers['WWW-Authenticate'], `${realm},scope="registry:catalog:*"`);
  });

  test('the token grants the intersection of the requested scope and accessControl', async () => {
    const adminToken = await tokenFor('admin', 'repository:team/app:pull,push');
    assert.deepEqual(await pushWith(h, 'team/app', 'v1', bearer(adminToken)), [201, 201, 201]);

    const aliceToken = await tokenFor('alice', 'repository:team/app:pull,push,delete', 'repository:secret/x:pull');
    const claims = decodeJwt(aliceToken);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, SERVICE);
    assert.deepEqual(claims['access'], [
      { type: 'repository', name: 'team/app', actions: ['pull'] },
      { type: 'repository', name: 'secret/x', actions: [] },
    ]);
    assert.equal((await h.send('GET', '/v2/team/app/manifests/v1', { headers: bearer(aliceToken) })).status, 200);
    const denied = await h.send('DELETE', '/v2/team/app/manifests/v1', { headers: bearer(aliceToken) });
    assert.equal(denied.status, 403);
    assert.equal((denied.json() as { errors: { code: string }[] }).errors[0]!.code, 'DENIED');
    assert.match(denied.headers['WWW-Authenticate']!, /scope="repository:team\/app:delete",error="insufficient_scope"$/);
    // A token for one repository is no good for another.
    assert.equal((await h.send('GET', '/v2/public/base/tags/list', { headers: bearer(aliceToken) })).status, 403);
  });

  test("push granted for create keeps zot's create/update distinction: bob may push a new tag (and the same again), not move one", async () => {
    const bobToken = await tokenFor('bob', 'repository:team/bob:pull,push');
    assert.deepEqual(decodeJwt(bobToken)['access'], [{ type: 'repository', name: 'team/bob', actions: ['pull', 'push'] }]);
    assert.deepEqual(await pushWith(h, 'team/bob', 'v1', bearer(bobToken)), [201, 201, 201]);
    const again = await pushWith(h, 'team/bob', 'v1', bearer(bobToken));
    assert.equal(again[2], 201, 'the same manifest again changes nothing: create is enough');
    const moved = await pushWith(h, 'team/bob', 'v1', bearer(bobToken), ' (another build)');
    assert.equal(moved[2], 403, 'moving an existing tag needs update');
  });

  test('anonymous callers get a token with what anonymousPolicy allows; /v2/ and the catalog with it', async () => {
    const adminToken = await tokenFor('admin', 'repository:public/base:pull,push');
    assert.deepEqual(await pushWith(h, 'public/base', 'v1', bearer(adminToken)), [201, 201, 201]);
    const anonymous = await tokenFor(undefined, 'repository:public/base:pull,push', 'repository:team/app:pull', 'registry:catalog:*');
    const claims = decodeJwt(anonymous);
    assert.equal(claims.sub, '');
    assert.deepEqual(claims['access'], [
      { type: 'repository', name: 'public/base', actions: ['pull'] },
      { type: 'repository', name: 'team/app', actions: [] },
      { type: 'registry', name: 'catalog', actions: [] },
    ]);
    assert.equal((await h.send('GET', '/v2/public/base/manifests/v1', { headers: bearer(anonymous) })).status, 200);
    const push = await h.send('POST', '/v2/public/base/blobs/uploads/', { headers: bearer(anonymous) });
    assert.equal(push.status, 401, 'an anonymous caller lacking scope is asked to log in');
    assert.match(push.headers['WWW-Authenticate']!, /scope="repository:public\/base:pull,push",error="insufficient_scope"/);
    // A logged-in user's catalog grant lists what the policy lets them read.
    const aliceCatalog = await tokenFor('alice', 'registry:catalog:*');
    const catalog = await h.send('GET', '/v2/_catalog', { headers: bearer(aliceCatalog) });
    assert.equal(catalog.status, 200);
    assert.deepEqual((catalog.json() as { repositories: string[] }).repositories, ['public/base', 'team/app', 'team/bob']);
    const noCatalog = await h.send('GET', '/v2/_catalog', { headers: bearer(await tokenFor('alice', 'repository:team/app:pull')) });
    assert.equal(noCatalog.status, 403);
  });

  test('wrong credentials at the token endpoint: 401 with a Basic challenge; unknown service: 400', async () => {
    const wrong = await h.send('GET', `/zot/auth/token?service=${SERVICE}&scope=repository:team/app:pull`, {
      headers: basic('alice', 'nope'),
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['WWW-Authenticate'], 'Basic realm="zot-test"');
    assert.equal((await h.send('GET', '/zot/auth/token?service=other')).status, 400);
  });

  test('OAuth2 POST: password grant with a refresh token, then refresh grants for other scopes', async () => {
    const form = (fields: Record<string, string>) => ({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    const login = await h.send(
      'POST',
      '/zot/auth/token',
      form({
        grant_type: 'password',
        username: 'admin',
        password: 'admin-secret-pw',
        service: SERVICE,
        client_id: 'docker',
        access_type: 'offline',
      }),
    );
    assert.equal(login.status, 200, login.text);
    const first = login.json() as { access_token: string; refresh_token: string; scope: string; expires_in: number };
    assert.equal(first.scope, '');
    assert.ok(first.refresh_token);
    assert.equal((await h.send('GET', '/v2/', { headers: bearer(first.access_token) })).status, 200);
    const refreshed = await h.send(
      'POST',
      '/zot/auth/token',
      form({
        grant_type: 'refresh_token',
        refresh_token: first.refresh_token,
        service: SERVICE,
        client_id: 'docker',
        scope: 'repository:team/app:pull,push',
      }),
    );
    assert.equal(refreshed.status, 200, refreshed.text);
    const second = refreshed.json() as { access_token: string; refresh_token: string; scope: string };
    assert.equal(second.refresh_token, first.refresh_token, 'a refresh grant hands back the same refresh token');
    assert.equal(second.scope, 'repository:team/app:pull,push');
    assert.equal((await h.send('GET', '/v2/team/app/tags/list', { headers: bearer(second.access_token) })).status, 200);
    // A refresh token is never an access token, and a bad one is an invalid grant.
    assert.equal((await h.send('GET', '/v2/', { headers: bearer(first.refresh_token) })).status, 401);
    const bad = await h.send(
      'POST',
      '/zot/auth/token',
      form({ grant_type: 'refresh_token', refresh_token: first.access_token, service: SERVICE }),
    );
    assert.equal(bad.status, 401);
    assert.equal((bad.json() as { error: string }).error, 'invalid_grant');
    const wrongPassword = await h.send(
      'POST',
      '/zot/auth/token',
      form({ grant_type: 'password', username: 'admin', password: 'wrong-pw', service: SERVICE }),
    );
    assert.equal(wrongPassword.status, 401);
    assert.equal((await h.send('POST', '/zot/auth/token', form({ grant_type: 'client_credentials' }))).status, 400);
    assert.equal((await h.send('POST', '/zot/auth/token', { headers: { 'content-type': 'application/json' }, body: '{}' })).status, 415);
    const huge = await h.send('POST', '/zot/auth/token', form({ grant_type: 'password', username: 'a', password: 'x'.repeat(70_000) }));
    assert.equal(huge.status, 413);
  });

  test('bad tokens are refused: forged, expired, not yet valid, wrong audience or issuer, alg none, HS256 with the public key', async () => {
    const signing = await keys.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const access = [{ type: 'repository', name: 'team/app', actions: ['pull'] }];
    const make = (claims: Record<string, unknown>, key = signing.privateKey, alg = signing.alg) =>
      new SignJWT({ access, ...claims }).setProtectedHeader({ alg, kid: signing.kid }).sign(key);
    const base = { iss: ISSUER, aud: SERVICE, sub: 'admin', iat: now, nbf: now, exp: now + 300 };
    assert.equal(
      (await h.send('GET', '/v2/team/app/tags/list', { headers: bearer(await make(base)) })).status,
      200,
      'the control token works',
    );

    const forger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const unsigned = (claims: object) =>
      `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    const hmacWithPublicKey = (() => {
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: signing.kid })).toString('base64url');
      const payload = Buffer.from(JSON.stringify({ access, ...base })).toString('base64url');
      const secret = signing.publicKey.export({ type: 'spki', format: 'pem' });
      return `${header}.${payload}.${createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')}`;
    })();
    const bad: Record<string, string> = {
      forged: await make(base, forger),
      expired: await make({ ...base, iat: now - 3600, nbf: now - 3600, exp: now - 600 }),
      'not yet valid': await make({ ...base, nbf: now + 600 }),
      'wrong audience': await make({ ...base, aud: 'another-registry' }),
      'wrong issuer': await make({ ...base, iss: 'https://evil.test' }),
      'no expiry': await make({ iss: ISSUER, aud: SERVICE, sub: 'admin' }),
      'alg none': unsigned({ access, ...base }),
      'HS256 with the public key': hmacWithPublicKey,
      garbage: 'not-a-token',
    };
    for (const [why, token] of Object.entries(bad)) {
      const reply = await h.send('GET', '/v2/team/app/tags/list', { headers: bearer(token) });
      assert.equal(reply.status, 401, why);
      assert.match(reply.headers['WWW-Authenticate']!, /error="invalid_token"/, why);
    }
    const logged = logs.text();
    for (const token of Object.values(bad)) assert.ok(!logged.includes(token), 'tokens never reach the logs');
    for (const secret of ['admin-secret-pw', 'alice-secret-pw', 'bob-secret-pw']) assert.ok(!logged.includes(secret));
  });

  test('key rotation: a new key file signs new tokens (its kid in the header) while old tokens keep verifying', async () => {
    const before = await tokenFor('admin', 'repository:team/app:pull');
    const oldKid = decodeProtectedHeader(before).kid;
    const second = join(keysDir, 'b.pem');
    await writeFile(second, pem('rsa').privatePem, { mode: 0o600 });
    const later = new Date(Date.now() + 5000);
    await utimes(second, later, later);
    const after = await tokenFor('admin', 'repository:team/app:pull');
    const header = decodeProtectedHeader(after);
    assert.equal(header.alg, 'RS256');
    assert.notEqual(header.kid, oldKid);
    assert.equal((await h.send('GET', '/v2/team/app/tags/list', { headers: bearer(after) })).status, 200);
    assert.equal((await h.send('GET', '/v2/team/app/tags/list', { headers: bearer(before) })).status, 200);
    await rm(second);
    assert.equal(
      (await h.send('GET', '/v2/team/app/tags/list', { headers: bearer(after) })).status,
      401,
      'removing a key revokes its tokens at once',
    );
  });
});

describe('bearer `cert` file (an external token service)', () => {
  test('a certificate or public key file verifies tokens, and is re-read when it changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zot-bearer-cert-'));
    try {
      const first = pem('rsa');
      await writeFile(join(dir, 'first.key'), first.privatePem);
      // A self-signed certificate made by openssl from the token service's key, as zot's docs show.
      await run('openssl', [
        'req',
        '-x509',
        '-new',
        '-key',
        join(dir, 'first.key'),
        '-subj',
        '/CN=token-service',
        '-days',
        '1',
        '-out',
        join(dir, 'auth.crt'),
      ]);
      const certFile = await PublicKeyFile.open(join(dir, 'auth.crt'), { checkIntervalMs: 0 });
      const verifier = new AccessTokenVerifier({ keys: new CombinedKeySource([certFile]), audience: SERVICE });
      const sign = (privatePem: string) =>
        new SignJWT({ access: [{ type: 'repository', name: 'a/b', actions: ['pull', 'push'] }] })
          .setProtectedHeader({ alg: 'RS256' })
          .setIssuer('https://auth.example')
          .setAudience(SERVICE)
          .setSubject('ci')
          .setExpirationTime('5m')
          .sign(createPrivateKey(privatePem));
      const token = await sign(first.privatePem);
      const verified = await verifier.verify(token);
      assert.equal(verified.subject, 'ci');
      assert.deepEqual(verified.access, [{ type: 'repository', name: 'a/b', actions: ['pull', 'push'] }]);
      // The file now holds another service's public key: old tokens stop verifying, new ones do.
      const next = pem('ec');
      await writeFile(join(dir, 'auth.crt'), next.publicPem);
      await assert.rejects(verifier.verify(token), /signature/);
      const nextToken = await new SignJWT({ access: [] })
        .setProtectedHeader({ alg: 'ES256' })
        .setAudience(SERVICE)
        .setSubject('ci')
        .setExpirationTime('5m')
        .sign(createPrivateKey(next.privatePem));
      assert.equal((await verifier.verify(nextToken)).subject, 'ci');
      const authenticator = new BearerAuthenticator({ realm: 'https://auth.example/token', service: SERVICE, tokens: verifier });
      const result = await authenticator.authenticate({ method: 'GET', path: '/v2/', headers: { authorization: `Bearer ${nextToken}` } });
      assert.equal(result.kind, 'authenticated');
      assert.equal(
        result.kind === 'authenticated' && result.identity.access?.mode,
        'replaces-policy',
        "an external service's claims decide alone",
      );
      assert.equal(
        (await authenticator.authenticate({ method: 'GET', path: '/v2/', headers: { authorization: 'Basic YTpi' } })).kind,
        'rejected',
      );
      await assert.rejects(PublicKeyFile.open(join(dir, 'missing.crt')), /missing\.crt/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
