/**
 * Single sign-on against a real OpenID Connect provider (the oidc-provider package, on loopback),
 * the browser part driven by Debian's headless Chromium: login with PKCE, state and nonce, the
 * session cookie's attributes, groups from a claim feeding accessControl, an API key made from
 * the session, a replayed or forged callback refused, logout, and sessions shared by two
 * replicas through a real redis-server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { Registry } from '@zotjs/core';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import { ApiKeyAuthenticator } from '../src/apikey/authenticator.js';
import { apiKeyRoutes } from '../src/apikey/routes.js';
import { ApiKeyService } from '../src/apikey/service.js';
import { LocalApiKeyStore } from '../src/apikey/store.js';
import { AuthenticatorChain } from '../src/chain.js';
import { OpenIdProvider } from '../src/oidc/provider.js';
import { openIdRoutes } from '../src/oidc/routes.js';
import { AccessControlAuthorizer } from '../src/policy/access-control.js';
import { CookieSealer, randomSessionKeys } from '../src/session/cookie.js';
import { SessionAuthenticator, SessionManager } from '../src/session/manager.js';
import { LocalSessionStore, RedisSessionStore, type SessionStore } from '../src/session/store.js';
import { freePort } from '../src/testing/slapd.js';
import { redisAvailable, startRedis, type RedisServer } from '../src/testing/redis.js';
import { startHttpRegistry, type HttpRegistry } from './helpers/http-registry.js';
import { captureLogger } from './helpers/logger.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) ? 'chromium is not installed' : !redisAvailable() ? 'redis-server is not installed' : false;
const CLIENT_SECRET = 'zot-client-secret-value';

describe('OpenID Connect login in headless Chromium', { skip }, () => {
  let dir: string;
  let idp: Server;
  let issuer: string;
  let redis: RedisServer;
  let replicas: HttpRegistry[] = [];
  let stores: SessionStore[] = [];
  let browser: Browser;
  let context: BrowserContext;
  const logs = captureLogger();
  const keys = randomSessionKeys();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zot-oidc-'));
    redis = await startRedis();
    const idpPort = await freePort();
    const zotPorts = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${idpPort}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'zot',
          client_secret: CLIENT_SECRET,
          redirect_uris: zotPorts.map((p) => `http://127.0.0.1:${p}/zot/auth/callback/oidc`),
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
      cookies: { keys: ['oidc-provider-test-cookie-key'] },
    });
    idp = createServer(provider.callback());
    await new Promise<void>((resolve) => idp.listen(idpPort, '127.0.0.1', resolve));

    const authorizer = new AccessControlAuthorizer({
      repositories: {
        'team/**': { policies: [{ users: [], groups: ['developers'], actions: ['read'] }], defaultPolicy: [], anonymousPolicy: [] },
      },
      adminPolicy: { users: [], groups: [], actions: [] },
      groups: {},
    });
    const apiKeys = new ApiKeyService({ store: new LocalApiKeyStore(join(dir, 'apikeys.json')) });
    // Two replicas sharing the Redis session store and the session keys, each with its own storage.
    for (const port of zotPorts) {
      const store = new RedisSessionStore({ url: redis.url, keyPrefix: 'zot-oidc-test' });
      stores.push(store);
      const sealer = new CookieSealer(keys);
      const sessions = new SessionManager({ store, sealer, secure: false, logger: logs.logger });
      const oidc = new OpenIdProvider({
        name: 'oidc',
        kind: 'oidc',
        clientId: 'zot',
        clientSecret: CLIENT_SECRET,
        issuer,
        scopes: ['email', 'groups'],
        redirectUri: `http://127.0.0.1:${port}/zot/auth/callback/oidc`,
        allowInsecureRequests: true,
        logger: logs.logger,
      });
      const basicKeys = new ApiKeyAuthenticator({ keys: apiKeys, realm: 'zot' });
      const authenticator = new AuthenticatorChain([basicKeys, new SessionAuthenticator(sessions, { realm: 'zot' })]);
      const root = join(dir, `storage-${port}`);
      replicas.push(
        await startHttpRegistry(
          {
            registry: new Registry({ storage: new OciLayoutStorage({ rootDirectory: root }) }),
            authenticator,
            authorizer,
            logger: logs.logger,
            extraRoutes: [
              ...openIdRoutes({ providers: [oidc], sessions, store, sealer, logger: logs.logger }),
              ...apiKeyRoutes({ keys: apiKeys, challenge: () => authenticator.challenge() }),
            ],
          },
          port,
        ),
      );
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    for (const replica of replicas) await replica.close();
    for (const store of stores) await store.close();
    replicas = [];
    stores = [];
    idp?.closeAllConnections();
    await new Promise((resolve) => (idp ? idp.close(resolve) : resolve(undefined)));
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A fresh browser (no provider session yet) at the provider's login page for `zot`. */
  async function atLoginPage(zot: string, query: string, user: string) {
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${zot}/zot/auth/login?provider=oidc${query}`);
    await page.locator('input[name="login"]').fill(user);
    await page.locator('input[name="password"]').fill('any-password');
    await page.locator('button[type="submit"]').click();
    return page;
  }

  /** Logs in through the provider's pages; resolves the callback URL the provider sent the browser to. */
  async function browserLogin(zot: string, user: string): Promise<string> {
    const page = await atLoginPage(zot, '&callback_ui=/v2/', user);
    const callback = page.waitForResponse((r) => r.url().startsWith(`${zot}/zot/auth/callback/oidc`));
    await page.locator('button[type="submit"]').click(); // consent
    const response = await callback;
    // zot-ts redirects to callback_ui with the session cookie set.
    assert.equal(response.status(), 302);
    assert.equal(response.headers()['location'], '/v2/');
    await page.close();
    return response.url();
  }

  /**
   * A login stopped at the callback: the consent form is posted with the browser's cookies
   * (Playwright's request context shares them) and the provider's redirects followed by hand up to
   * the callback URL, which is returned with the cookie header the browser would send with it.
   */
  async function interceptedCallback(zot: string, user: string): Promise<{ callback: string; loginCookie: string }> {
    const page = await atLoginPage(zot, '', user);
    await page.locator('button[type="submit"]').waitFor();
    const action = new URL((await page.locator('form').getAttribute('action'))!, page.url()).href;
    let response = await context.request.post(action, { form: { prompt: 'consent' }, maxRedirects: 0 });
    let location = '';
    for (let hops = 0; hops < 5; hops++) {
      location = new URL(response.headers()['location']!, response.url()).href;
      if (location.startsWith(`${zot}/zot/auth/callback/oidc`)) break;
      response = await context.request.get(location, { maxRedirects: 0 });
    }
    const cookies = await context.cookies(location);
    await page.close();
    await context.close();
    const loginCookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    assert.ok(location.includes('code=') && loginCookie.includes('zot_login='), 'the callback was reached with its login cookie');
    return { callback: location, loginCookie };
  }

  async function sessionCookie(zot: string): Promise<string> {
    const cookies = await context.cookies(zot);
    const session = cookies.find((c) => c.name === 'session');
    assert.ok(session, 'a session cookie was set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.path, '/');
    return `session=${session.value}`;
  }

  test('login with the provider starts a session whose groups feed accessControl, on every replica', async () => {
    const [a, b] = replicas.map((r) => r.url) as [string, string];
    const callback = await browserLogin(a, 'alice');
    assert.match(callback, /[?&]code=/);
    assert.match(callback, /[?&]state=/);
    const cookie = await sessionCookie(a);
    const ui = { cookie, 'x-zot-api-client': 'zot-ui' };
    // Replica B has never seen this login: the session lives in Redis.
    for (const zot of [a, b])
      assert.equal((await fetch(`${zot}/v2/team/app/tags/list`, { headers: ui })).status, 404, 'allowed (no such repository yet)');
    // Without zot's UI header the cookie is not a login (no cross-site request can add the header).
    assert.equal((await fetch(`${a}/v2/team/app/tags/list`, { headers: { cookie } })).status, 401);
    // An API key for command-line tools, made from the single sign-on session.
    const created = await fetch(`${b}/zot/auth/apikey`, { method: 'POST', headers: ui, body: JSON.stringify({ label: 'laptop' }) });
    assert.equal(created.status, 201);
    const { apiKey } = (await created.json()) as { apiKey: string };
    const basic = `Basic ${Buffer.from(`alice@example.test:${apiKey}`).toString('base64')}`;
    assert.equal((await fetch(`${a}/v2/team/app/tags/list`, { headers: { authorization: basic } })).status, 404);

    // Logging out on replica B ends the session on A too.
    const out = await fetch(`${b}/zot/auth/logout`, { method: 'POST', headers: ui });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /^session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax/);
    assert.equal((await fetch(`${a}/v2/team/app/tags/list`, { headers: ui })).status, 401);
    await context.close();
  });

  test('a replayed callback, a forged state and a callback without the login cookie are refused', async () => {
    const zot = replicas[0]!.url;
    const { callback, loginCookie } = await interceptedCallback(zot, 'bob');
    const forged = new URL(callback);
    forged.searchParams.set('state', 'forged-state');
    assert.equal((await fetch(forged, { headers: { cookie: loginCookie }, redirect: 'manual' })).status, 401, 'state mismatch');
    // The forged attempt used up this login's state: even the genuine callback is now refused.
    assert.equal((await fetch(callback, { headers: { cookie: loginCookie }, redirect: 'manual' })).status, 401, 'replay');
    assert.equal((await fetch(callback, { redirect: 'manual' })).status, 401, 'no login cookie');
    const tampered = loginCookie.replace(/zot_login=([^;]*)/, (_m, v: string) => `zot_login=${v.slice(0, -4)}AAAA`);
    assert.equal((await fetch(callback, { headers: { cookie: tampered }, redirect: 'manual' })).status, 401, 'tampered cookie');
  });

  test('a genuine callback works once: the second use of the same code and state is refused', async () => {
    const zot = replicas[1]!.url;
    const { callback, loginCookie } = await interceptedCallback(zot, 'carol');
    const first = await fetch(callback, { headers: { cookie: loginCookie }, redirect: 'manual' });
    assert.equal(first.status, 201);
    assert.match(first.headers.get('set-cookie') ?? '', /^session=/);
    const again = await fetch(callback, { headers: { cookie: loginCookie }, redirect: 'manual' });
    assert.equal(again.status, 401);
    // The other replica refuses it too (the used state is in the shared store).
    const other = new URL(callback);
    other.port = new URL(replicas[0]!.url).port;
    assert.equal((await fetch(other, { headers: { cookie: loginCookie }, redirect: 'manual' })).status, 401);
  });

  test('login requests are checked: unknown provider, open redirects', async () => {
    const zot = replicas[0]!.url;
    assert.equal((await fetch(`${zot}/zot/auth/login?provider=nope`, { redirect: 'manual' })).status, 400);
    for (const bad of ['https://evil.test/', '//evil.test/x', '/\\evil.test']) {
      assert.equal(
        (await fetch(`${zot}/zot/auth/login?provider=oidc&callback_ui=${encodeURIComponent(bad)}`, { redirect: 'manual' })).status,
        400,
        bad,
      );
    }
    const start = await fetch(`${zot}/zot/auth/login?provider=oidc`, { redirect: 'manual' });
    assert.equal(start.status, 302);
    const location = new URL(start.headers.get('location')!);
    assert.equal(location.origin, issuer);
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(location.searchParams.get('nonce') && location.searchParams.get('state'));
    assert.equal(location.searchParams.get('scope'), 'openid email groups');
    const cookie = start.headers.get('set-cookie')!;
    assert.match(cookie, /^zot_login=[^;]+; Path=\/zot\/auth\/callback; Max-Age=600; HttpOnly; SameSite=Lax$/);
    const logged = logs.text();
    assert.ok(!logged.includes(CLIENT_SECRET), 'the client secret never reaches the logs');
  });
});

describe('local session store', () => {
  test('sessions survive a restart (a new store over the same folder), expire, and one-time values are used once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zot-sessions-'));
    try {
      let now = 1_000_000;
      const keys = randomSessionKeys();
      const first = new SessionManager({
        store: new LocalSessionStore(dir, () => now),
        sealer: new CookieSealer(keys),
        secure: true,
        ttlSeconds: 60,
        now: () => now,
      });
      const setCookie = await first.create({ username: 'alice', groups: ['g'], method: 'openid:oidc' });
      assert.match(setCookie, /^session=[^;]+; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax; Secure$/);
      const cookie = setCookie.split(';')[0]!;
      const restarted = new SessionManager({
        store: new LocalSessionStore(dir, () => now),
        sealer: new CookieSealer(keys),
        secure: true,
        now: () => now,
      });
      assert.deepEqual(await restarted.identify(cookie), { username: 'alice', groups: ['g'], method: 'session' });
      const otherKeys = new SessionManager({
        store: new LocalSessionStore(dir, () => now),
        sealer: new CookieSealer(randomSessionKeys()),
        secure: true,
        now: () => now,
      });
      assert.equal(await otherKeys.identify(cookie), undefined, 'a cookie sealed with other keys is no session');
      now += 61_000;
      assert.equal(await restarted.identify(cookie), undefined, 'expired');
      const store = new LocalSessionStore(dir, () => now);
      assert.equal(await store.useOnce('state-1', 60), true);
      assert.equal(await new LocalSessionStore(dir, () => now).useOnce('state-1', 60), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
