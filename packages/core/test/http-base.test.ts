import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MediaTypes,
  type Action,
  type AuthRequest,
  type AuthResult,
  type Authenticator,
  type Authorizer,
  type Identity,
  type Logger,
} from '../src/index.js';
import { MemoryStorage } from '../src/testing/index.js';
import { Client, assertError, digestOf, json, testRegistry } from './support/http.js';
import { Registry, createRegistryHandler, type RegistryStorage } from '../src/index.js';

describe('HTTP: base route and routing', () => {
  it('GET /v2/ answers 200 {} with the API version header', async () => {
    const { client } = testRegistry();
    const reply = await client.get('/v2/');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.deepEqual(json(reply), {});
    assert.equal(reply.outcome.operationId, 'checkVersion');
  });

  it('unknown paths answer 404 NAME_UNKNOWN with the spec error body', async () => {
    const { client } = testRegistry();
    for (const path of ['/', '/v1/', '/v2/foo', '/v2/foo/bar', '/v2/_catalog/x', '/v3/foo/manifests/latest']) {
      assertError(await client.get(path), 404, 'NAME_UNKNOWN');
    }
  });

  it('a known path with another method answers 405 UNSUPPORTED', async () => {
    const { client } = testRegistry();
    assertError(await client.send('POST', '/v2/'), 405, 'UNSUPPORTED');
    assertError(await client.send('PATCH', '/v2/repo/manifests/latest'), 405, 'UNSUPPORTED');
    assertError(await client.send('DELETE', '/v2/repo/tags/list'), 405, 'UNSUPPORTED');
  });

  it('invalid repository names answer 400 NAME_INVALID, traversal attempts included', async () => {
    const { client } = testRegistry();
    for (const name of ['UPPER', '..', '%2e%2e', '%2E%2E', 'a/../b', 'a/./b', 'a/%2e%2e/b', 'a//b', '-a', 'a%2fb']) {
      assertError(await client.get(`/v2/${name}/manifests/latest`), 400, 'NAME_INVALID');
      assertError(await client.get(`/v2/${name}/tags/list`), 400, 'NAME_INVALID');
      assertError(await client.send('POST', `/v2/${name}/blobs/uploads/`), 400, 'NAME_INVALID');
    }
    const long = 'a'.repeat(256);
    assertError(await client.get(`/v2/${long}/tags/list`), 400, 'NAME_INVALID');
    assertError(await client.send('POST', `/v2/${long}/blobs/uploads/`), 400, 'NAME_INVALID');
    assert.equal((await client.send('POST', `/v2/${'a'.repeat(255)}/blobs/uploads/`)).status, 202);
  });

  it('HEAD answers carry headers but no body, errors included', async () => {
    const { client } = testRegistry();
    const reply = await client.head('/v2/repo/manifests/latest');
    assert.equal(reply.status, 404);
    assert.equal(reply.hasBody, false);
    assert.equal(reply.headers['docker-distribution-api-version'], 'registry/2.0');
  });

  it('a storage failure answers 500 INTERNAL_ERROR, logs the cause and never sends it to the client', async () => {
    const logged: Array<{ obj: object; msg?: string }> = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (obj, msg) => logged.push({ obj, ...(msg === undefined ? {} : { msg }) }),
    };
    class FailingStorage extends MemoryStorage {
      override async readIndex(): Promise<undefined> {
        throw new Error('disk on fire at /secret/path');
      }
    }
    const client = new Client(createRegistryHandler({ registry: new Registry({ storage: new FailingStorage() }), logger }));
    const reply = await client.get('/v2/repo/tags/list');
    assertError(reply, 500, 'INTERNAL_ERROR');
    assert.doesNotMatch(reply.body.toString(), /secret|fire/);
    assert.equal(logged.length, 1);
    assert.match(String((logged[0]!.obj as { err: Error }).err.message), /disk on fire/);
  });

  it('storage out of space answers 503 UNAVAILABLE', async () => {
    class FullStorage extends MemoryStorage {
      override async createUpload(): Promise<void> {
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      }
    }
    const storage: RegistryStorage = new FullStorage();
    const client = new Client(createRegistryHandler({ registry: new Registry({ storage }) }));
    assertError(await client.send('POST', '/v2/repo/blobs/uploads/'), 503, 'UNAVAILABLE');
  });

  it('extra routes are dispatched before the registry API', async () => {
    const registry = new Registry({ storage: new MemoryStorage() });
    const client = new Client(
      createRegistryHandler({
        registry,
        extraRoutes: [
          {
            method: 'GET',
            template: '/v2/_zot/ext/hello',
            operationId: 'hello',
            summary: 'test route',
            action: 'none',
            responses: { 200: 'hello' },
            handle: async () => ({ status: 200, headers: { 'Content-Length': '5' }, body: Buffer.from('hello') }),
          },
        ],
      }),
    );
    const reply = await client.get('/v2/_zot/ext/hello');
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), 'hello');
    assert.equal(reply.headers['docker-distribution-api-version'], 'registry/2.0');
  });
});

// ---- authentication and authorization with fakes (pure logic: no network involved) ------------

const USERS: Record<string, { password: string; groups: string[] }> = {
  alice: { password: 'alice-pw', groups: ['dev'] },
  bob: { password: 'bob-pw', groups: [] },
  carol: { password: 'carol-pw', groups: [] },
};

class FakeBasicAuthenticator implements Authenticator {
  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const header = request.headers['authorization'];
    if (!header) return { kind: 'anonymous' };
    const [user, password] = Buffer.from(header.replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    const known = USERS[user ?? ''];
    if (!known || known.password !== password) return { kind: 'rejected', reason: 'bad credentials' };
    return { kind: 'authenticated', identity: { username: user!, groups: known.groups, method: 'basic' } };
  }
  challenge(): string {
    return 'Basic realm="zot-test"';
  }
}

/** alice may do anything; bob may read `public/*` and `bob/*` and push to `bob/*`; anonymous may read `public/*`. */
class FakePolicy implements Authorizer {
  constructor(private readonly anonymousBase = false) {}
  authorize(identity: Identity | undefined, repository: string, action: Action): boolean {
    if (identity?.username === 'alice') return true;
    if (repository.startsWith('public/')) return action === 'read';
    if (identity?.username === 'bob' && repository.startsWith('bob/')) return action !== 'delete';
    return false;
  }
  allowsAnonymousBase(): boolean {
    return this.anonymousBase;
  }
}

const basic = (user: string, password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('HTTP: authentication and authorization', () => {
  it('anonymous GET /v2/ answers 401 UNAUTHORIZED with the challenge; valid credentials 200', async () => {
    const { client } = testRegistry({ authenticator: new FakeBasicAuthenticator(), authorizer: new FakePolicy() });
    const anonymous = await client.get('/v2/');
    assertError(anonymous, 401, 'UNAUTHORIZED');
    assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="zot-test"');
    const ok = await client.get('/v2/', { headers: basic('bob', 'bob-pw') });
    assert.equal(ok.status, 200);
    assert.equal(ok.outcome.identity?.username, 'bob');
  });

  it('anonymous GET /v2/ is allowed when the policy lets anonymous users read something', async () => {
    const { client } = testRegistry({ authenticator: new FakeBasicAuthenticator(), authorizer: new FakePolicy(true) });
    assert.equal((await client.get('/v2/')).status, 200);
  });

  it('wrong credentials answer 401 everywhere, even where anonymous access is allowed', async () => {
    const { client } = testRegistry({ authenticator: new FakeBasicAuthenticator(), authorizer: new FakePolicy(true) });
    for (const path of ['/v2/', '/v2/public/app/tags/list', '/v2/_catalog']) {
      const reply = await client.get(path, { headers: basic('bob', 'wrong') });
      assertError(reply, 401, 'UNAUTHORIZED');
      assert.equal(reply.headers['www-authenticate'], 'Basic realm="zot-test"');
      assert.doesNotMatch(reply.body.toString(), /wrong|bob-pw/);
    }
  });

  it('denied actions answer 401 to anonymous callers and 403 DENIED to known users', async () => {
    const { client } = testRegistry({ authenticator: new FakeBasicAuthenticator(), authorizer: new FakePolicy(true) });
    assertError(await client.send('POST', '/v2/secret/app/blobs/uploads/'), 401, 'UNAUTHORIZED');
    assertError(await client.get('/v2/secret/app/tags/list'), 401, 'UNAUTHORIZED');
    assertError(await client.get('/v2/secret/app/tags/list', { headers: basic('bob', 'bob-pw') }), 403, 'DENIED');
    assertError(await client.send('POST', '/v2/public/app/blobs/uploads/', { headers: basic('bob', 'bob-pw') }), 403, 'DENIED');
    assertError(await client.send('DELETE', `/v2/bob/app/manifests/v1`, { headers: basic('bob', 'bob-pw') }), 403, 'DENIED');
    const pushed = await client.send('POST', '/v2/bob/app/blobs/uploads/', { headers: basic('bob', 'bob-pw') });
    assert.equal(pushed.status, 202);
    assert.equal(pushed.outcome.action, 'create');
    // Anonymous reads of public repositories go through (404: nothing there yet, but not 401).
    assertError(await client.get('/v2/public/app/tags/list'), 404, 'NAME_UNKNOWN');
  });

  it('the catalog lists only what the caller may read', async () => {
    const { client } = testRegistry({ authenticator: new FakeBasicAuthenticator(), authorizer: new FakePolicy(true) });
    const alice = basic('alice', 'alice-pw');
    for (const repo of ['public/a', 'bob/b', 'secret/c']) {
      const reply = await client.send('POST', `/v2/${repo}/blobs/uploads/`, { headers: alice });
      assert.equal(reply.status, 202);
    }
    assert.deepEqual(json(await client.get('/v2/_catalog', { headers: alice })), { repositories: ['bob/b', 'public/a', 'secret/c'] });
    assert.deepEqual(json(await client.get('/v2/_catalog', { headers: basic('bob', 'bob-pw') })), { repositories: ['bob/b', 'public/a'] });
    assert.deepEqual(json(await client.get('/v2/_catalog')), { repositories: ['public/a'] });
  });

  it('a mount from a repository the caller may not read falls back to a new session (202), revealing nothing', async () => {
    const { client } = testRegistry({ authenticator: new FakeBasicAuthenticator(), authorizer: new FakePolicy() });
    const alice = basic('alice', 'alice-pw');
    const bob = basic('bob', 'bob-pw');
    const data = 'secret layer';
    const digest = digestOf(data);
    assert.equal((await client.send('POST', `/v2/secret/app/blobs/uploads/?digest=${digest}`, { body: data, headers: alice })).status, 201);
    const mount = await client.send('POST', `/v2/bob/app/blobs/uploads/?mount=${digest}&from=secret/app`, { headers: bob });
    assert.equal(mount.status, 202);
    assert.ok(mount.headers['location']?.startsWith('/v2/bob/app/blobs/uploads/'));
    assertError(await client.head(`/v2/bob/app/blobs/${digest}`, { headers: bob }), 404, 'BLOB_UNKNOWN');
    const allowed = await client.send('POST', `/v2/bob/app/blobs/uploads/?mount=${digest}&from=secret/app`, { headers: alice });
    assert.equal(allowed.status, 201);
  });

  it('pushing over an existing tag needs update (except latest); new tags and digests need create', async () => {
    const actions: Action[] = [];
    // carol may read and create in ci/*, but not update; alice may do everything.
    const policy: Authorizer = {
      authorize(identity, _repository, action) {
        actions.push(action);
        return identity?.username === 'alice' || action === 'read' || action === 'create';
      },
    };
    const { client } = testRegistry({ authenticator: new FakeBasicAuthenticator(), authorizer: policy });
    const carol = basic('carol', 'carol-pw');
    const push = (tag: string, manifest: Buffer, headers: Record<string, string>) =>
      client.send('PUT', `/v2/ci/app/manifests/${tag}`, {
        body: manifest,
        headers: { ...headers, 'content-type': MediaTypes.ociManifest },
      });

    const config = '{}';
    assert.equal(
      (await client.send('POST', `/v2/ci/app/blobs/uploads/?digest=${digestOf(config)}`, { body: config, headers: carol })).status,
      201,
    );
    const manifest = (n: number): Buffer =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          config: { mediaType: MediaTypes.ociEmpty, digest: digestOf(config), size: 2 },
          layers: [],
          annotations: { n: String(n) },
        }),
      );

    const created = await push('v1', manifest(1), carol);
    assert.equal(created.status, 201);
    assert.equal(created.outcome.action, 'create');
    const overwrite = await push('v1', manifest(2), carol);
    assertError(overwrite, 403, 'DENIED');
    assert.equal(overwrite.outcome.action, 'update');
    assert.equal(json<{ tags: string[] }>(await client.get('/v2/ci/app/tags/list', { headers: carol })).tags.length, 1);
    assert.equal((await client.get('/v2/ci/app/manifests/v1', { headers: carol })).body.toString(), manifest(1).toString(), 'v1 unchanged');

    assert.equal((await push('latest', manifest(3), carol)).status, 201);
    assert.equal((await push('latest', manifest(4), carol)).status, 201, 'latest moves with create alone');
    const byDigest = await push(digestOf(manifest(5)), manifest(5), carol);
    assert.equal(byDigest.status, 201);
    assert.equal(byDigest.outcome.action, 'create');

    const alice = await push('v1', manifest(6), basic('alice', 'alice-pw'));
    assert.equal(alice.status, 201);
    assert.equal(alice.outcome.action, 'update');
    assert.ok(actions.includes('update'));
  });
});
