/**
 * API keys end to end through the real core handler: created, listed and revoked through zot's
 * endpoints, used as Basic passwords (skopeo --creds user:key), scoped, expired, and revoked at once
 * on a second replica sharing the store, for the local file store and for a real redis-server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyAuthenticator } from '../src/apikey/authenticator.js';
import { apiKeyRoutes } from '../src/apikey/routes.js';
import { ApiKeyService } from '../src/apikey/service.js';
import { LocalApiKeyStore, RedisApiKeyStore, type ApiKeyStore } from '../src/apikey/store.js';
import { HtpasswdFile } from '../src/htpasswd/file.js';
import { PasswordAuthenticator } from '../src/password-authenticator.js';
import { AccessControlAuthorizer } from '../src/policy/access-control.js';
import { SigningKeySet } from '../src/token-service/signing-keys.js';
import { TokenService } from '../src/token-service/service.js';
import { tokenRoutes } from '../src/token-service/routes.js';
import { htpasswdAvailable, htpasswdSet } from '../src/testing/htpasswd.js';
import { redisAvailable, startRedis, type RedisServer } from '../src/testing/redis.js';
import { basic, pushWith, startHandler, type TestHandler } from './helpers/handler.js';
import { captureLogger } from './helpers/logger.js';

const skip = htpasswdAvailable() ? false : 'htpasswd (apache2-utils) is not installed';

interface Created {
  apiKey: string;
  uuid: string;
  label: string;
  scopes: string[] | null;
  expirationDate: string;
  isExpired: boolean;
  createdAt: string;
  lastUsed: string;
  creatorUa: string;
  generatedBy: string;
}

function suite(name: string, makeStore: () => Promise<{ store: () => ApiKeyStore; cleanup: () => Promise<void>; file?: string }>) {
  describe(`API keys (${name} store)`, { skip }, () => {
    let dir: string;
    let h: TestHandler;
    let replica: ApiKeyService;
    let stores: ApiKeyStore[] = [];
    let cleanup: () => Promise<void>;
    let file: string | undefined;
    const logs = captureLogger();

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'zot-apikey-'));
      const made = await makeStore();
      cleanup = made.cleanup;
      file = made.file;
      const open = () => {
        const s = made.store();
        stores.push(s);
        return s;
      };
      const htpasswd = join(dir, 'htpasswd');
      await htpasswdSet(htpasswd, 'admin', 'admin-secret-pw');
      await htpasswdSet(htpasswd, 'alice', 'alice-secret-pw');
      const authorizer = new AccessControlAuthorizer({
        repositories: {
          'team/**': { policies: [{ users: ['alice'], groups: [], actions: ['read', 'create'] }], defaultPolicy: [], anonymousPolicy: [] },
        },
        adminPolicy: { users: ['admin'], groups: [], actions: ['read', 'create', 'update', 'delete'] },
        groups: {},
      });
      const keys = new ApiKeyService({ store: open(), logger: logs.logger });
      // Another replica: its own service and store connection over the same shared data, an hour ahead for expiry checks later.
      replica = new ApiKeyService({ store: open() });
      const passwords = new PasswordAuthenticator({
        verifiers: [await HtpasswdFile.open(htpasswd, { checkIntervalMs: 0 })],
        realm: 'zot',
        logger: logs.logger,
      });
      const authenticator = new ApiKeyAuthenticator({ keys, passwords, realm: 'zot', logger: logs.logger });
      await writeFile(
        join(dir, 'signing.pem'),
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
      );
      const tokens = new TokenService({
        issuer: 'zot',
        service: 'zot',
        keys: await SigningKeySet.open(join(dir, 'signing.pem')),
        authorizer,
        apiKeyIsValid: (id) => keys.isValid(id),
      });
      h = await startHandler({
        authenticator,
        authorizer,
        extraRoutes: [
          ...apiKeyRoutes({ keys, challenge: () => authenticator.challenge() }),
          ...tokenRoutes({ service: tokens, credentials: authenticator }),
        ],
        logger: logs.logger,
      });
      assert.deepEqual(await pushWith(h, 'team/app', 'v1', basic('admin', 'admin-secret-pw')), [201, 201, 201]);
      assert.deepEqual(await pushWith(h, 'team/other', 'v1', basic('admin', 'admin-secret-pw')), [201, 201, 201]);
    });
    after(async () => {
      await h?.close();
      for (const s of stores) await s.close();
      stores = [];
      await cleanup?.();
      await rm(dir, { recursive: true, force: true });
    });

    async function create(body: unknown, auth = basic('alice', 'alice-secret-pw')): Promise<Created> {
      const reply = await h.send('POST', '/zot/auth/apikey', {
        headers: { ...auth, 'user-agent': 'curl/8.0' },
        body: JSON.stringify(body),
      });
      assert.equal(reply.status, 201, reply.text);
      return reply.json() as Created;
    }

    test('a key is shown once, stored only as a hash, listed without it, and works as the password', async () => {
      const created = await create({ label: 'ci', expirationDate: '2099-01-02T15:04:05Z' });
      assert.match(created.apiKey, /^zak_[0-9a-f]{32}$/);
      assert.equal(created.label, 'ci');
      assert.equal(created.scopes, null);
      assert.equal(created.expirationDate, '2099-01-02T15:04:05Z');
      assert.equal(created.isExpired, false);
      assert.equal(created.lastUsed, '0001-01-01T00:00:00Z');
      assert.equal(created.creatorUa, 'curl/8.0');
      assert.equal(created.generatedBy, 'manual');
      if (file) assert.ok(!(await readFile(file, 'utf8')).includes(created.apiKey.slice(4)), 'the store holds no key');

      const list = await h.send('GET', '/zot/auth/apikey', { headers: basic('alice', 'alice-secret-pw') });
      assert.equal(list.status, 200);
      const listed = (list.json() as { apiKeys: Record<string, unknown>[] }).apiKeys;
      assert.equal(listed.length, 1);
      assert.equal(listed[0]!['uuid'], created.uuid);
      assert.ok(!('apiKey' in listed[0]!) && !JSON.stringify(listed).includes(created.apiKey.slice(4)));

      assert.equal((await h.send('GET', '/v2/team/app/tags/list', { headers: basic('alice', created.apiKey) })).status, 200);
      assert.equal(
        (await h.send('GET', '/v2/team/app/tags/list', { headers: basic('admin', created.apiKey) })).status,
        401,
        "a key is only its owner's password",
      );
      assert.equal(
        (await h.send('GET', '/v2/team/app/tags/list', { headers: basic('alice', 'zak_00000000000000000000000000000000') })).status,
        401,
      );
      // A key cannot make keys.
      assert.equal((await h.send('POST', '/zot/auth/apikey', { headers: basic('alice', created.apiKey), body: '{}' })).status, 403);
    });

    test('a scoped key reaches only its repositories, and there only what its owner may do', async () => {
      const { apiKey } = await create({ label: 'scoped', scopes: ['team/app'] });
      assert.equal((await h.send('GET', '/v2/team/app/tags/list', { headers: basic('alice', apiKey) })).status, 200);
      assert.equal((await h.send('GET', '/v2/team/other/tags/list', { headers: basic('alice', apiKey) })).status, 403);
      assert.equal((await h.send('DELETE', '/v2/team/app/manifests/v1', { headers: basic('alice', apiKey) })).status, 403);
    });

    test('revoking a key stops it at once, on this replica and on another one sharing the store', async () => {
      const { apiKey, uuid } = await create({ label: 'to-revoke' });
      assert.equal((await replica.check('alice', apiKey)).ok, true);
      assert.equal((await h.send('GET', '/v2/team/app/tags/list', { headers: basic('alice', apiKey) })).status, 200);
      // A refresh token bought with the key dies with it.
      const login = await h.send('POST', '/zot/auth/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          username: 'alice',
          password: apiKey,
          service: 'zot',
          access_type: 'offline',
        }).toString(),
      });
      assert.equal(login.status, 200, login.text);
      const { refresh_token } = login.json() as { refresh_token: string };
      const refresh = () =>
        h.send('POST', '/zot/auth/token', {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token, service: 'zot' }).toString(),
        });
      assert.equal((await refresh()).status, 200);

      assert.equal(
        (await h.send('DELETE', `/zot/auth/apikey?id=${uuid}`, { headers: basic('admin', 'admin-secret-pw') })).status,
        404,
        "nobody revokes another user's key",
      );
      assert.equal((await h.send('DELETE', `/zot/auth/apikey?id=${uuid}`, { headers: basic('alice', 'alice-secret-pw') })).status, 200);
      assert.equal((await h.send('GET', '/v2/team/app/tags/list', { headers: basic('alice', apiKey) })).status, 401);
      assert.deepEqual(await replica.check('alice', apiKey), { ok: false, reason: 'unknown-key' });
      assert.equal((await refresh()).status, 401);
      assert.equal((await h.send('DELETE', '/zot/auth/apikey', { headers: basic('alice', 'alice-secret-pw') })).status, 400);
    });

    test('expiry: a past date is refused; a key past its date no longer logs in', async () => {
      for (const bad of [
        { expirationDate: '2001-01-01T00:00:00Z' },
        { expirationDate: 'tomorrow' },
        { scopes: 'team/app' },
        { label: 7 },
      ]) {
        const reply = await h.send('POST', '/zot/auth/apikey', { headers: basic('alice', 'alice-secret-pw'), body: JSON.stringify(bad) });
        assert.equal(reply.status, 400, JSON.stringify(bad));
      }
      assert.equal(
        (await h.send('POST', '/zot/auth/apikey', { headers: basic('alice', 'alice-secret-pw'), body: '{not json' })).status,
        400,
      );
      assert.equal((await h.send('POST', '/zot/auth/apikey', { body: '{}' })).status, 401);
      const soon = new Date(Date.now() + 3_600_000).toISOString();
      const { apiKey } = await create({ label: 'short', expirationDate: soon });
      assert.equal((await replica.check('alice', apiKey)).ok, true);
      const later = new ApiKeyService({ store: stores[1]!, now: () => Date.now() + 2 * 3_600_000 });
      assert.deepEqual(await later.check('alice', apiKey), { ok: false, reason: 'expired' });
      const logged = logs.text();
      assert.ok(!logged.includes('alice-secret-pw') && !logged.includes(apiKey), 'no secret in the logs');
    });
  });
}

suite('local file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zot-apikey-store-'));
  const file = join(dir, 'apikeys.json');
  return { store: () => new LocalApiKeyStore(file), cleanup: () => rm(dir, { recursive: true, force: true }), file };
});

describe('redis', { skip: redisAvailable() ? false : 'redis-server is not installed' }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());
  suite('redis', async () => ({ store: () => new RedisApiKeyStore({ url: redis.url, keyPrefix: 'zot-test' }), cleanup: async () => {} }));
});
