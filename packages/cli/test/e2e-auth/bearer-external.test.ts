/**
 * http.auth.bearer with an external token issuer (its certificate in `cert`), through `zot-cli
 * serve`: valid tokens push and pull (skopeo --registry-token), the challenge names the exact
 * scope, a token lacking it gets error="insufficient_scope", and forged, expired, not-yet-valid,
 * wrong-audience, wrong-issuer, alg none and HS256-with-the-public-key tokens get 401 with nothing done.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createPrivateKey, createSecretKey } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { ClientSandbox, makeImage, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
import { giveToServerUser, makeTempDir, startServer, type RunningServer } from '../helpers/server.js';

const skip = skipUnlessPrograms('skopeo', 'openssl');
const SERVICE = 'registry.example.test';
const ISSUER = 'https://auth.example.test';

describe('bearer tokens from an external issuer (http.auth.bearer.cert)', { skip }, () => {
  let server: RunningServer;
  let clients: ClientSandbox;
  let dir: string;

  const keyOf = (name: string) => createPrivateKey(readFileSync(join(dir, `${name}.key`)));
  type Access = { type: string; name: string; actions: string[] }[];
  async function token(
    access: Access,
    options: { key?: string; aud?: string; iss?: string; exp?: number; nbf?: number; alg?: string } = {},
  ) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ access })
      .setProtectedHeader({ alg: options.alg ?? 'RS256', typ: 'JWT' })
      .setIssuer(options.iss ?? ISSUER)
      .setSubject('ci-bot')
      .setAudience(options.aud ?? SERVICE)
      .setIssuedAt(now)
      .setNotBefore(options.nbf ?? now)
      .setExpirationTime(options.exp ?? now + 300)
      .sign(keyOf(options.key ?? 'issuer'));
  }
  const push = (name: string): Access => [{ type: 'repository', name, actions: ['pull', 'push'] }];

  before(async () => {
    dir = makeTempDir('zot-bearer-ext-');
    for (const name of ['issuer', 'rogue']) {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, `${name}.key`),
          '-out',
          join(dir, `${name}.crt`),
          '-days',
          '2',
          '-subj',
          `/CN=${name}`,
        ],
        { stdio: 'ignore' },
      );
    }
    giveToServerUser(dir);
    server = await startServer({
      config: { http: { auth: { bearer: { realm: `${ISSUER}/token`, service: SERVICE, cert: join(dir, 'issuer.crt'), issuer: ISSUER } } } },
    });
    clients = await ClientSandbox.create('zot-e2e-bearer-');
  });

  after(async () => {
    await server?.stop();
    await clients?.cleanup();
  });

  it('skopeo pushes and pulls with a token granting the repository', async () => {
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: makeImage({ layers: 1, layerSize: 20_000 }) }]);
    const t = await token(push('ext/app'));
    await clients.skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--dest-registry-token',
      t,
      `oci:${layout}:v1`,
      `docker://${server.host}/ext/app:v1`,
    );
    await clients.skopeo('inspect', '--tls-verify=false', '--registry-token', t, `docker://${server.host}/ext/app:v1`);
  });

  it('the challenge names the scope; a token without it: 403 insufficient_scope', async () => {
    const none = await fetch(`${server.url}/v2/ext/app/manifests/v1`);
    assert.equal(none.status, 401);
    assert.equal(
      none.headers.get('www-authenticate'),
      `Bearer realm="${ISSUER}/token",service="${SERVICE}",scope="repository:ext/app:pull"`,
    );
    const other = await token(push('ext/other'));
    const lacking = await fetch(`${server.url}/v2/ext/app/manifests/v1`, { headers: { authorization: `Bearer ${other}` } });
    assert.equal(lacking.status, 403);
    assert.match(lacking.headers.get('www-authenticate') ?? '', /scope="repository:ext\/app:pull",error="insufficient_scope"/);
    const catalog = await token([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    assert.equal((await fetch(`${server.url}/v2/_catalog`, { headers: { authorization: `Bearer ${catalog}` } })).status, 200);
  });

  it('bad tokens: 401, and nothing is done', async () => {
    const now = Math.floor(Date.now() / 1000);
    const access = push('bad/repo');
    const header = (s: object) => Buffer.from(JSON.stringify(s)).toString('base64url');
    const payload = header({ iss: ISSUER, sub: 'x', aud: SERVICE, exp: now + 300, access });
    const publicPem = readFileSync(join(dir, 'issuer.crt'));
    const hs256 = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(SERVICE)
      .setExpirationTime(now + 300)
      .sign(createSecretKey(publicPem));
    const bad: Record<string, string> = {
      forged: await token(access, { key: 'rogue' }),
      expired: await token(access, { exp: now - 600, nbf: now - 900 }),
      'not yet valid': await token(access, { nbf: now + 600, exp: now + 900 }),
      'wrong audience': await token(access, { aud: 'another-registry' }),
      'wrong issuer': await token(access, { iss: 'https://evil.example' }),
      'alg none': `${header({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      'HS256 with the public key': hs256,
    };
    for (const [what, t] of Object.entries(bad)) {
      const answer = await fetch(`${server.url}/v2/bad/repo/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${t}` } });
      assert.equal(answer.status, 401, what);
      assert.match(answer.headers.get('www-authenticate') ?? '', /error="invalid_token"/, what);
      assert.ok(!(await answer.text()).includes(t), `${what}: the token is not echoed`);
    }
    const good = await token([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    const listing = (await (await fetch(`${server.url}/v2/_catalog`, { headers: { authorization: `Bearer ${good}` } })).json()) as {
      repositories: string[];
    };
    assert.ok(!listing.repositories.includes('bad/repo'), 'no repository was created');
    for (const t of Object.values(bad)) assert.ok(!server.logs().includes(t), 'no token in the logs');
  });
});
