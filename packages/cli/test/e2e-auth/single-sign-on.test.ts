/**
 * OpenID Connect login and API keys end to end through two `zot-cli serve` replicas sharing Redis
 * (http.auth.openid + sessionDriver redis + sessionKeysFile): a standards-certified provider
 * (oidc-provider) on loopback, the login driven by headless Chromium, the session used on the
 * other replica with its groups feeding accessControl, an API key made there used by skopeo, and
 * revoked on one replica failing at once on the other. Also zot's UI login with a password: a
 * basic-auth GET /v2/ from the UI sets the session and user cookies.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Provider from 'oidc-provider';
import { chromium, type Browser } from 'playwright-core';
import { htpasswdSet, redisAvailable, startRedis, type RedisServer } from '@zotjs/auth/testing';
import { ClientSandbox, CommandError, skipUnlessPrograms } from '../helpers/images.js';
import { freePort, giveToServerUser, makeTempDir, startServer, type RunningServer } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const CLIENT_SECRET = 'zot-e2e-client-secret-value';
const skip =
  skipUnlessPrograms('skopeo', 'htpasswd') ||
  (!existsSync(CHROMIUM) ? 'chromium is not installed' : !redisAvailable() ? 'redis-server is not installed' : false);

describe('OpenID Connect login and API keys on two replicas sharing Redis', { skip }, () => {
  let idp: Server;
  let redis: RedisServer;
  let replicas: RunningServer[] = [];
  let browser: Browser;
  let clients: ClientSandbox;

  before(async () => {
    redis = await startRedis();
    const idpPort = await freePort();
    const ports = [await freePort(), await freePort()];
    const issuer = `http://127.0.0.1:${idpPort}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'zot',
          client_secret: CLIENT_SECRET,
          redirect_uris: ports.map((p) => `http://127.0.0.1:${p}/zot/auth/callback/oidc`),
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      async findAccount(_ctx, sub) {
        return {
          accountId: sub,
          claims: async () => ({ sub, email: `${sub}@example.test`, groups: sub === 'alice' ? ['developers'] : [] }),
        };
      },
      claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
      scopes: ['openid', 'email', 'groups'],
      pkce: { required: () => true },
      cookies: { keys: ['oidc-provider-e2e-cookie-key'] },
    });
    idp = createServer(provider.callback());
    await new Promise<void>((resolve) => idp.listen(idpPort, '127.0.0.1', resolve));

    const secrets = makeTempDir('zot-sso-secrets-');
    writeFileSync(join(secrets, 'session-keys.json'), JSON.stringify({ hashKey: 'h'.repeat(64), encryptKey: 'e'.repeat(32) }));
    writeFileSync(join(secrets, 'oidc-credentials.json'), JSON.stringify({ clientid: 'zot', clientsecret: CLIENT_SECRET }));
    writeFileSync(join(secrets, 'htpasswd'), '');
    await htpasswdSet(join(secrets, 'htpasswd'), 'dave', 'dave-Secret-5');
    giveToServerUser(secrets);
    for (const port of ports) {
      replicas.push(
        await startServer({
          config: {
            http: {
              port: String(port),
              auth: {
                htpasswd: { path: join(secrets, 'htpasswd') },
                openid: {
                  providers: {
                    oidc: { credentialsFile: join(secrets, 'oidc-credentials.json'), issuer, scopes: ['email', 'groups'] },
                  },
                },
                apikey: true,
                sessionKeysFile: join(secrets, 'session-keys.json'),
                sessionDriver: { name: 'redis', url: redis.url, keyprefix: 'zot-e2e' },
              },
              accessControl: {
                repositories: {
                  'team/**': {
                    policies: [
                      { groups: ['developers'], actions: ['read', 'create'] },
                      { users: ['dave'], actions: ['read'] },
                    ],
                  },
                },
              },
            },
          },
        }),
      );
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
    clients = await ClientSandbox.create();
  });

  after(async () => {
    await browser?.close();
    for (const replica of replicas) await replica.stop();
    replicas = [];
    idp?.closeAllConnections();
    await new Promise((resolve) => (idp ? idp.close(resolve) : resolve(undefined)));
    await redis?.stop();
    await clients?.cleanup();
  });

  it('browser login on one replica; the session, its groups and an API key work on the other; revocation is immediate everywhere', async () => {
    const [a, b] = replicas as [RunningServer, RunningServer];
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${a.url}/zot/auth/login?provider=oidc&callback_ui=/v2/`);
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('any-password');
    await page.locator('button[type="submit"]').click();
    const callback = page.waitForResponse((r) => r.url().startsWith(`${a.url}/zot/auth/callback/oidc`));
    await page.locator('button[type="submit"]').click(); // consent
    const answer = await callback;
    assert.equal(answer.status(), 302);
    assert.equal(answer.headers()['location'], '/v2/');
    const cookies = await context.cookies(a.url);
    const session = cookies.find((c) => c.name === 'session');
    const user = cookies.find((c) => c.name === 'user');
    assert.ok(session, 'a session cookie');
    assert.ok(session.httpOnly && session.sameSite === 'Lax', 'an HttpOnly, SameSite session cookie');
    assert.equal(user?.value, encodeURIComponent('alice@example.test'), "zot's readable user cookie");
    await context.close();

    const ui = { cookie: `session=${session.value}`, 'x-zot-api-client': 'zot-ui' };
    // Replica B never saw this login: the session is in Redis, sealed with the shared keys; the group grants read.
    assert.equal((await fetch(`${b.url}/v2/team/app/tags/list`, { headers: ui })).status, 404);
    assert.equal((await fetch(`${b.url}/v2/other/app/tags/list`, { headers: ui })).status, 403);
    const created = await fetch(`${b.url}/zot/auth/apikey`, {
      method: 'POST',
      headers: { ...ui, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'laptop', scopes: ['team/**'] }),
    });
    assert.equal(created.status, 201);
    const { apiKey, uuid } = (await created.json()) as { apiKey: string; uuid: string };
    assert.match(apiKey, /^zak_[0-9a-f]{32}$/);
    const listed = (await (await fetch(`${a.url}/zot/auth/apikey`, { headers: ui })).json()) as { apiKeys: { uuid: string }[] };
    assert.deepEqual(
      listed.apiKeys.map((k) => k.uuid),
      [uuid],
      'listed on the other replica, never with the key',
    );
    assert.ok(!JSON.stringify(listed).includes(apiKey));

    // skopeo with the key as the password, on replica A.
    const creds = `alice@example.test:${apiKey}`;
    await clients.skopeo('list-tags', '--tls-verify=false', '--creds', creds, `docker://${a.host}/team/none`).catch((err: unknown) => {
      // An empty repository is "name unknown": the login itself succeeded.
      assert.match(err instanceof CommandError ? err.message : String(err), /name unknown|not found|404/i);
    });
    const revoked = await fetch(`${a.url}/zot/auth/apikey?id=${uuid}`, { method: 'DELETE', headers: ui });
    assert.equal(revoked.status, 200);
    const basic = `Basic ${Buffer.from(creds).toString('base64')}`;
    assert.equal(
      (await fetch(`${b.url}/v2/team/app/tags/list`, { headers: { authorization: basic } })).status,
      401,
      'revoked on B at once',
    );

    // Logging out on A ends the session on B.
    const out = await fetch(`${a.url}/zot/auth/logout`, { method: 'POST', headers: ui });
    assert.equal(out.status, 200);
    assert.equal((await fetch(`${b.url}/v2/team/app/tags/list`, { headers: ui })).status, 401);
    for (const replica of replicas) {
      const logs = replica.logs();
      for (const secret of [apiKey, session.value, CLIENT_SECRET]) assert.ok(!logs.includes(secret), 'no secret in the logs');
    }
  });

  it('a wrong state or a replayed callback is refused', async () => {
    const [a] = replicas as [RunningServer];
    const forged = await fetch(`${a.url}/zot/auth/callback/oidc?code=abc&state=forged`, { redirect: 'manual' });
    assert.equal(forged.status, 401);
    const unknown = await fetch(`${a.url}/zot/auth/login?provider=nope`, { redirect: 'manual' });
    assert.equal(unknown.status, 400);
    const openRedirect = await fetch(`${a.url}/zot/auth/login?provider=oidc&callback_ui=https://evil.example/`, { redirect: 'manual' });
    assert.equal(openRedirect.status, 400);
  });

  it("zot's UI login with a password: a basic-auth GET /v2/ sets the session and user cookies, which then log in alone", async () => {
    const [a, b] = replicas as [RunningServer, RunningServer];
    const basic = `Basic ${Buffer.from('dave:dave-Secret-5').toString('base64')}`;
    const login = await fetch(`${a.url}/v2/`, { headers: { authorization: basic, 'x-zot-api-client': 'zot-ui' } });
    assert.equal(login.status, 200);
    const setCookies = login.headers.getSetCookie();
    assert.ok(setCookies.some((c) => /^session=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax/.test(c)));
    assert.ok(setCookies.some((c) => /^user=dave; Path=\//.test(c) && !c.includes('HttpOnly')));
    // Without the UI header, no session is started.
    const plain = await fetch(`${a.url}/v2/`, { headers: { authorization: basic } });
    assert.deepEqual(plain.headers.getSetCookie(), []);
    const session = setCookies.find((c) => c.startsWith('session='))!.split(';')[0]!;
    const ui = { cookie: session, 'x-zot-api-client': 'zot-ui' };
    assert.equal((await fetch(`${b.url}/v2/`, { headers: ui })).status, 200, 'a reload on any replica keeps the login');
    assert.equal((await fetch(`${b.url}/v2/team/app/tags/list`, { headers: ui })).status, 404);
  });
});
