/**
 * zot's OIDC workload identity: a bearer token from an OIDC issuer (here one served on loopback:
 * a discovery document and a JWKS, as a Kubernetes API server publishes them) verified through
 * discovery, its audience checked, its claims mapped with CEL, and accessControl deciding.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT } from 'jose';
import { BearerAuthenticator } from '../src/bearer/authenticator.js';
import { ClaimMapper, ClaimMappingError } from '../src/bearer/claim-mapping.js';
import { OidcWorkloadVerifier } from '../src/bearer/oidc-workload.js';
import { AccessControlAuthorizer } from '../src/policy/access-control.js';
import { bearer, startHandler, type TestHandler } from './helpers/handler.js';

describe('OIDC workload identity', () => {
  let server: Server;
  let issuer: string;
  let h: TestHandler;
  let jwksRequests = 0;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rogue = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

  before(async () => {
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
      else if (req.url === '/keys') {
        jwksRequests += 1;
        res.end(JSON.stringify({ keys: [jwk] }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const workload = new OidcWorkloadVerifier({
      issuer,
      audiences: ['zot', 'https://zot.example'],
      claimMapping: {
        variables: [{ name: 'ns', expression: "claims['kubernetes.io'].namespace" }],
        validations: [{ expression: "vars.ns != 'kube-system'", message: 'kube-system workloads are not allowed' }],
        username: "'k8s:' + vars.ns + ':' + claims.sub",
        groups: "['ns:' + vars.ns]",
      },
    });
    const authorizer = new AccessControlAuthorizer({
      repositories: {
        'ci/**': { policies: [{ users: [], groups: ['ns:ci'], actions: ['read', 'create'] }], defaultPolicy: [], anonymousPolicy: [] },
      },
      adminPolicy: { users: [], groups: [], actions: [] },
      groups: {},
    });
    h = await startHandler({
      authenticator: new BearerAuthenticator({ realm: `${issuer}/token`, service: 'zot', workload: [workload] }),
      authorizer,
    });
  });
  after(async () => {
    server?.close();
    await h?.close();
  });

  const token = (claims: Record<string, unknown>, key = privateKey, kid = 'k1') =>
    new SignJWT({ 'kubernetes.io': { namespace: 'ci' }, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(issuer)
      .setSubject('system:serviceaccount:ci:builder')
      .setAudience('zot')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);

  test('a valid workload token maps to an identity whose groups accessControl uses', async () => {
    const good = await token({});
    assert.equal((await h.send('GET', '/v2/ci/app/tags/list', { headers: bearer(good) })).status, 404, 'allowed (no such repository yet)');
    assert.equal((await h.send('GET', '/v2/other/app/tags/list', { headers: bearer(good) })).status, 403);
    assert.equal((await h.send('GET', '/v2/ci/app/tags/list', { headers: bearer(good) })).status, 404, 'again, from the cache');
    assert.equal(jwksRequests, 1, 'the keys were fetched once');
  });

  test('wrong audience, wrong issuer, unknown key, expired, or a failed validation: 401', async () => {
    const bad = {
      audience: await new SignJWT({ 'kubernetes.io': { namespace: 'ci' } })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(issuer)
        .setSubject('x')
        .setAudience('other')
        .setExpirationTime('10m')
        .sign(privateKey),
      issuer: await new SignJWT({ 'kubernetes.io': { namespace: 'ci' } })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('https://evil.test')
        .setSubject('x')
        .setAudience('zot')
        .setExpirationTime('10m')
        .sign(privateKey),
      rogue: await token({}, rogue, 'k1'),
      expired: await new SignJWT({ 'kubernetes.io': { namespace: 'ci' } })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(issuer)
        .setSubject('x')
        .setAudience('zot')
        .setExpirationTime(Math.floor(Date.now() / 1000) - 600)
        .sign(privateKey),
      validation: await token({ 'kubernetes.io': { namespace: 'kube-system' } }),
    };
    for (const [why, t] of Object.entries(bad)) {
      assert.equal((await h.send('GET', '/v2/ci/app/tags/list', { headers: bearer(t) })).status, 401, why);
    }
  });

  test('claim mappings are compiled up front and name the broken entry', () => {
    assert.throws(
      () => new ClaimMapper({ username: 'claims.sub +' }),
      (err: unknown) => err instanceof ClaimMappingError && err.path === 'username',
    );
    assert.throws(() => new ClaimMapper({ validations: [{ expression: 'true', message: '' }] }), /validations\[0\]\.message/);
    assert.deepEqual(new ClaimMapper().map({ iss: 'https://i', sub: 's' }), { username: 'https://i/s', groups: [] });
  });
});
