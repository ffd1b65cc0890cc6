import assert from 'node:assert/strict';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Authenticator } from '@zotjs/core';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import { createExtensions, StorageHealth } from '../src/index.js';
import { harness, send, tempDir } from './support/registry.js';

describe('health probes', () => {
  it('are ready once the storage is writable, and stop being ready when it is gone', async () => {
    const h = await harness();
    const ext = createExtensions({ storage: h.storage, version: '1', healthIntervalMs: 60_000 });
    const api = await harness({ root: h.root, extraRoutes: ext.routes });
    try {
      // Before the first check: live, but neither started nor ready.
      assert.equal((await send(api.handler, 'GET', '/livez')).status, 200);
      const early = await send(api.handler, 'GET', '/startupz');
      assert.equal(early.status, 503);
      assert.equal(JSON.parse(early.body.toString()).errors[0].code, 'UNAVAILABLE');
      assert.equal((await send(api.handler, 'GET', '/readyz')).status, 503);

      await ext.start();
      const ready = await send(api.handler, 'GET', '/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(JSON.parse(ready.body.toString()), { status: 'ok', checks: { storage: 'ok' } });
      assert.equal(ready.headers['Cache-Control'], 'no-store');
      assert.equal((await send(api.handler, 'GET', '/startupz')).status, 200);
      // The probe file never stays behind.
      assert.deepEqual(
        (await readdir(h.root)).filter((n) => n.startsWith('.zot-health')),
        [],
      );

      // The storage folder disappears (unmounted volume): not ready, still started and live.
      const moved = `${h.root}-moved`;
      await rename(h.root, moved);
      await ext.health.check();
      const down = await send(api.handler, 'GET', '/readyz');
      assert.equal(down.status, 503);
      const body = JSON.parse(down.body.toString());
      assert.deepEqual(body.errors[0].detail, { checks: { storage: 'ENOENT' } });
      assert.ok(!down.body.toString().includes(h.root), 'no path in the answer');
      assert.equal((await send(api.handler, 'GET', '/startupz')).status, 200);
      assert.equal((await send(api.handler, 'GET', '/livez')).status, 200);

      await rename(moved, h.root);
      await ext.health.check();
      assert.equal((await send(api.handler, 'GET', '/readyz')).status, 200);
    } finally {
      ext.close();
      await h.cleanup();
    }
  });

  it('answer from memory: well under a millisecond each', async () => {
    const h = await harness();
    const ext = createExtensions({ storage: h.storage, version: '1', healthIntervalMs: 60_000 });
    const api = await harness({ root: h.root, extraRoutes: ext.routes });
    try {
      await ext.start();
      const rounds = 2000;
      const started = process.hrtime.bigint();
      for (let i = 0; i < rounds; i++) {
        const res = await api.handler({ method: 'GET', path: '/readyz', query: new URLSearchParams(), headers: {} });
        if (res.status !== 200) assert.fail(`readyz answered ${res.status}`);
      }
      const perProbeMs = Number(process.hrtime.bigint() - started) / 1e6 / rounds;
      assert.ok(perProbeMs < 1, `${perProbeMs.toFixed(3)} ms per probe`);
    } finally {
      ext.close();
      await h.cleanup();
    }
  });

  it('reports a storage root that is not a folder', async () => {
    const dir = await tempDir();
    const file = join(dir, 'not-a-folder');
    await writeFile(file, 'x');
    const health = new StorageHealth({ storage: new OciLayoutStorage({ rootDirectory: file }), intervalMs: 60_000 });
    try {
      await health.start();
      assert.deepEqual([health.state.ok, health.state.reason], [false, 'ENOTDIR']);
      assert.equal(health.started, false);
    } finally {
      health.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('checks in the background on its own', async () => {
    const dir = await tempDir();
    const root = join(dir, 'data');
    const health = new StorageHealth({ storage: new OciLayoutStorage({ rootDirectory: root }), intervalMs: 20 });
    try {
      await health.start();
      assert.equal(health.state.ok, false);
      await mkdir(root);
      const deadline = Date.now() + 5000;
      while (!health.state.ok && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(health.state.ok, true);
      assert.equal(health.started, true);
    } finally {
      health.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never asks the authenticator, even with auth on', async () => {
    let calls = 0;
    const authenticator: Authenticator = {
      async authenticate() {
        calls++;
        return { kind: 'rejected', reason: 'always' };
      },
      challenge: () => 'Basic realm="x"',
    };
    const h = await harness();
    const ext = createExtensions({ storage: h.storage, version: '1', basicAuth: true, healthIntervalMs: 60_000 });
    const api = await harness({ root: h.root, extraRoutes: ext.routes, authenticator });
    try {
      await ext.start();
      for (const path of ['/livez', '/readyz', '/startupz']) {
        assert.equal((await send(api.handler, 'GET', path, { headers: { authorization: 'Basic eDp5' } })).status, 200, path);
      }
      assert.equal(calls, 0);
      assert.equal((await send(api.handler, 'GET', '/v2/')).status, 401);
      assert.equal(calls, 1);
    } finally {
      ext.close();
      await h.cleanup();
    }
  });
});
