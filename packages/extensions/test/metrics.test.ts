import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Authenticator } from '@zotjs/core';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import { createExtensions, RegistryMetrics, StorageUsage } from '../src/index.js';
import { harness, pushImage, send } from './support/registry.js';

/** `name{labels} value` lines of the Prometheus text format, as a map. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** Sum of the sizes of every file under `dir` whose inode was not seen yet. */
async function diskBytes(dir: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '.uploads') total += await diskBytes(path, seen);
      continue;
    }
    const s = await stat(path);
    const key = `${s.dev}:${s.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    total += s.size;
  }
  return total;
}

describe('Prometheus metrics', () => {
  it('count requests by route template, bytes pushed and pulled, repositories, storage and sessions', async () => {
    const h = await harness();
    const ext = createExtensions({ storage: h.storage, version: '1', metrics: { enable: true }, healthIntervalMs: 60_000 });
    const api = await harness({ root: h.root, extraRoutes: ext.routes });
    try {
      await ext.start();
      await ext.usage.start();
      const image = await pushImage(api.handler, 'library/app', 'v1', 10_000);
      for (const r of image.records) ext.observe(r);
      const pull = await send(api.handler, 'GET', `/v2/library/app/blobs/${image.layerDigest}`);
      ext.observe(pull.record);
      const missing = await send(api.handler, 'GET', '/v2/library/app/manifests/nope');
      ext.observe(missing.record);
      ext.observe({ ...missing.record, method: 'BREW', status: 404, outcome: {} });
      await ext.usage.flushDirty();

      const res = await send(api.handler, 'GET', '/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers['Content-Type']!, /^text\/plain/);
      const text = res.body.toString();
      const m = samples(text);
      assert.equal(m.get('zot_http_requests_total{method="PUT",route="/v2/{name}/manifests/{reference}",status="201"}'), 1);
      assert.equal(m.get('zot_http_requests_total{method="POST",route="/v2/{name}/blobs/uploads/",status="202"}'), 1);
      assert.equal(m.get('zot_http_requests_total{method="POST",route="/v2/{name}/blobs/uploads/",status="201"}'), 1);
      assert.equal(m.get('zot_http_requests_total{method="GET",route="/v2/{name}/manifests/{reference}",status="404"}'), 1);
      assert.equal(m.get('zot_http_requests_total{method="OTHER",route="unmatched",status="404"}'), 1);
      assert.equal(m.get('zot_http_request_duration_seconds_count{method="GET",route="/v2/{name}/blobs/{digest}",status="200"}'), 1);
      // Never the raw path (unbounded): the repository name appears in no label.
      assert.ok(!text.includes('library/app'), 'a raw path leaked into a label');
      assert.equal(m.get('zot_uploaded_bytes_total'), image.layer.length + image.config.length + image.manifest.length);
      assert.equal(m.get('zot_downloaded_bytes_total'), image.layer.length);
      assert.equal(m.get('zot_repositories'), 1);
      assert.equal(m.get('zot_storage_bytes'), await diskBytes(h.root));
      assert.equal(m.get('zot_upload_sessions_in_progress'), 0);
      assert.equal(m.get('zot_storage_usage_complete'), 1);
      assert.ok(m.has('process_cpu_user_seconds_total') && m.has('nodejs_eventloop_lag_seconds'), 'process metrics');

      // An open session counts until it is cancelled.
      const started = await send(api.handler, 'POST', '/v2/library/app/blobs/uploads/');
      ext.observe(started.record);
      await ext.usage.flushDirty();
      assert.equal(ext.usage.snapshot().uploadSessions, 1);
      const cancelled = await send(api.handler, 'DELETE', started.headers['Location']!);
      assert.equal(cancelled.status, 204);
      ext.observe(cancelled.record);
      await ext.usage.flushDirty();
      assert.equal(ext.usage.snapshot().uploadSessions, 0);
    } finally {
      ext.close();
      await h.cleanup();
    }
  });

  it('needs a user, and a listed one, when told to (auth on, accessControl.metrics.users)', async () => {
    const authenticator: Authenticator = {
      async authenticate(request) {
        const user = request.headers['x-test-user'];
        return user ? { kind: 'authenticated', identity: { username: user, groups: [], method: 'basic' } } : { kind: 'anonymous' };
      },
      challenge: () => 'Basic realm="zot"',
    };
    const h = await harness();
    const ext = createExtensions({
      storage: h.storage,
      version: '1',
      metrics: { requireUser: { challenge: 'Basic realm="zot"', users: ['prometheus'] } },
    });
    const api = await harness({ root: h.root, extraRoutes: ext.routes, authenticator });
    try {
      const anonymous = await send(api.handler, 'GET', '/metrics');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers['WWW-Authenticate'], 'Basic realm="zot"');
      assert.equal((await send(api.handler, 'GET', '/metrics', { headers: { 'x-test-user': 'alice' } })).status, 403);
      assert.equal((await send(api.handler, 'GET', '/metrics', { headers: { 'x-test-user': 'prometheus' } })).status, 200);
    } finally {
      ext.close();
      await h.cleanup();
    }
  });

  it('keeps labels bounded whatever the clients send', () => {
    const metrics = new RegistryMetrics({ processMetrics: false });
    for (let i = 0; i < 50; i++) {
      metrics.observe({ method: `X${i}`, path: `/random/${i}`, status: 404, bytesIn: 0, bytesOut: 0, durationMs: 1, outcome: {} });
    }
    return metrics.render().then(({ body }) => {
      const lines = body.split('\n').filter((l) => l.startsWith('zot_http_requests_total{'));
      assert.deepEqual(lines, ['zot_http_requests_total{method="OTHER",route="unmatched",status="404"} 50']);
    });
  });
});

describe('storage usage', () => {
  it('is measured once at startup, counting hard-linked (mounted) blobs once', async () => {
    const h = await harness();
    try {
      const a = await pushImage(h.handler, 'team/a', 'v1', 50_000);
      await pushImage(h.handler, 'b', 'v1', 1000);
      // Mount team/a's layer into c: a hard link, no new bytes on disk.
      const mounted = await send(h.handler, 'POST', `/v2/c/blobs/uploads/?mount=${a.layerDigest}&from=team/a`);
      assert.equal(mounted.status, 201);
      // A session left open.
      assert.equal((await send(h.handler, 'POST', '/v2/b/blobs/uploads/')).status, 202);

      const usage = new StorageUsage({ storage: h.storage });
      assert.equal(usage.snapshot().complete, false);
      await usage.start();
      const snap = usage.snapshot();
      assert.equal(snap.complete, true);
      assert.equal(snap.repositories, 3);
      assert.equal(snap.uploadSessions, 1);
      assert.equal(snap.bytes, await diskBytes(h.root));
      const layerPath = join(h.root, 'c', 'blobs', 'sha256', a.layerDigest.slice('sha256:'.length));
      assert.ok((await stat(layerPath)).nlink >= 2, 'the mount is a hard link');

      // Deleting from one repository updates the counters; the shared inode still counts once.
      const del = await send(h.handler, 'DELETE', `/v2/team/a/manifests/${a.manifestDigest}`);
      assert.equal(del.status, 202);
      usage.observe(del.record);
      const delBlob = await send(h.handler, 'DELETE', `/v2/team/a/blobs/${a.layerDigest}`);
      assert.equal(delBlob.status, 202);
      usage.observe(delBlob.record);
      await usage.flushDirty();
      assert.equal(usage.snapshot().bytes, await diskBytes(h.root));
      // A failed change schedules nothing.
      usage.observe({ ...del.record, status: 404 });
      usage.close();
    } finally {
      await h.cleanup();
    }
  });

  it('copes with an empty or missing storage root', async () => {
    const usage = new StorageUsage({ storage: new OciLayoutStorage({ rootDirectory: '/nonexistent/zot-ts-test' }) });
    await usage.start();
    assert.deepEqual(usage.snapshot(), { repositories: 0, bytes: 0, uploadSessions: 0, complete: true });
  });
});
