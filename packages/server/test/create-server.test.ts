import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Registry, type RouteDefinition } from '@zotjs/core';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import { createServer, DEFAULT_RECLAIM_EVERY_BYTES, GcNotExposedError } from '../src/index.js';
import { send } from './helpers/harness.js';

describe('createServer: what it needs and what it refuses', () => {
  const root = mkdtempSync(join(tmpdir(), 'zot-server-config-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('without storage or registry it says which one it needs', () => {
    assert.throws(() => createServer({}), /`storage` \(a RegistryStorage\) or `registry` is required/);
  });

  test('reclaimBodyBuffersEvery in a process without --expose-gc fails at createServer, naming the flag', () => {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'this test process runs without --expose-gc');
    const storage = new OciLayoutStorage({ rootDirectory: root });
    assert.throws(
      () => createServer({ storage, reclaimBodyBuffersEvery: DEFAULT_RECLAIM_EVERY_BYTES }),
      (err: Error) => err instanceof GcNotExposedError && /--expose-gc/.test(err.message),
    );
    assert.doesNotThrow(() => createServer({ storage, reclaimBodyBuffersEvery: 0 }));
  });

  test("a ready Registry is served as it is; the registry's own settings beside it are refused, not ignored", async () => {
    const registry = new Registry({ storage: new OciLayoutStorage({ rootDirectory: root }), deleteEnabled: false });
    assert.throws(() => createServer({ registry, deleteEnabled: true }), /deleteEnabled belong to the Registry you pass as `registry`/);
    assert.throws(
      () => createServer({ registry, storage: registry.storage, maxManifestBytes: 1 }),
      /storage, maxManifestBytes belong to the Registry/,
    );

    const server = createServer({ registry, port: 0 });
    assert.equal(server.registry, registry);
    assert.equal(server.storage, registry.storage);
    const { url } = await server.listen();
    try {
      const res = await send(`${url}/v2/`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
    } finally {
      await server.close(1000);
    }
  });

  test('cookies of a response each get their own Set-Cookie line', async () => {
    const storage = new OciLayoutStorage({ rootDirectory: root });
    const login: RouteDefinition = {
      method: 'GET',
      template: '/login',
      operationId: 'login',
      summary: 'sets two cookies',
      action: 'none',
      public: true,
      responses: { 200: 'ok' },
      async handle() {
        return {
          status: 200,
          headers: { 'Content-Length': '0' },
          cookies: ['session=abc; HttpOnly; SameSite=Strict', 'user=alice; SameSite=Strict'],
        };
      },
    };
    const server = createServer({ storage, port: 0, extraRoutes: [login] });
    const { url } = await server.listen();
    try {
      const res = await send(`${url}/login`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers['set-cookie'], ['session=abc; HttpOnly; SameSite=Strict', 'user=alice; SameSite=Strict']);
    } finally {
      await server.close(1000);
    }
  });
});
