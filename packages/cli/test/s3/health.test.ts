/**
 * `zot-cli serve` on an S3 bucket (a real Ceph RADOS Gateway): `/readyz` and `/startupz` ask the
 * bucket, not the local `rootDirectory`, and the storage gauges come from the bucket's listings.
 */
import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { S3Storage, optionsFromDriverConfig } from '@zotjs/storage-s3';
import { startServer } from '../helpers/server.js';
import { allBlobs, makeImage, type ImageContent } from '../helpers/images.js';
import { pushContent } from '../e2e/registry-http.js';
import { eventually, scrape } from '../e2e-ops/support.js';
import { cephUnavailable, startS3Fixture, type S3Fixture } from './cluster.js';

const skip = await cephUnavailable();

interface ErrorBody {
  errors: Array<{ code: string; detail: { checks: Record<string, string> } }>;
}

const OCI_LAYOUT_BYTES = JSON.stringify({ imageLayoutVersion: '1.0.0' }).length;

/** What a repository holding `image` stores: its blobs (manifest included), its index.json and oci-layout. */
async function storedBytes(storage: S3Storage, repository: string, image: ImageContent): Promise<number> {
  const blobs = allBlobs(image).reduce((sum, blob) => sum + blob.data.length, 0);
  const index = Buffer.byteLength(JSON.stringify(await storage.readIndex(repository)));
  return blobs + index + OCI_LAYOUT_BYTES;
}

describe('health and storage gauges of a server on S3 (Ceph RGW)', { skip }, () => {
  let fixture: S3Fixture;
  before(async () => {
    fixture = await startS3Fixture();
  });
  after(async () => {
    await fixture?.cluster.stop();
  });

  it('/readyz asks the bucket: ready with an unwritable local folder, and the gauges count the bucket', async (t) => {
    const storageDriver = fixture.driverConfig('health');
    const server = await startServer({
      config: { storage: { storageDriver }, extensions: { metrics: { enable: true, prometheus: { path: '/metrics' } } } },
    });
    const storage = new S3Storage(optionsFromDriverConfig(storageDriver));
    t.after(async () => {
      await chmod(server.rootDirectory, 0o700).catch(() => undefined);
      await server.stop();
      storage.destroy();
    });
    // The local folder is not the storage: taking it away from the server changes nothing.
    await chmod(server.rootDirectory, 0o500);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ok', checks: { storage: 'ok' } });

    const [app, other] = [makeImage({ layers: 2, layerSize: 40_000 }), makeImage({ layers: 1, layerSize: 1000 })];
    await pushContent(server.url, 'team/app', 'v1', app);
    await pushContent(server.url, 'other', 'v1', other);
    // Each push is measured again shortly after it ends (debounced): wait for the last one.
    const expected = (await storedBytes(storage, 'team/app', app)) + (await storedBytes(storage, 'other', other));
    let seen: Map<string, number> | undefined;
    const samples = await eventually('the gauges to count what the bucket holds', async () => {
      seen = (await scrape(`${server.url}/metrics`)).samples;
      return seen.get('zot_storage_bytes') === expected ? seen : false;
    }).catch((err: unknown) => {
      assert.equal(seen?.get('zot_storage_bytes'), expected, 'zot_storage_bytes');
      throw err;
    });
    assert.equal(samples.get('zot_repositories'), 2);
    assert.equal(samples.get('zot_storage_usage_complete'), 1);
    assert.equal(samples.get('zot_upload_sessions_in_progress'), 0);
  });

  it('/readyz and /startupz wait for a bucket that is not there yet, and name what is missing', async (t) => {
    const bucket = `zot-late-${randomBytes(4).toString('hex')}`;
    const server = await startServer({ config: { storage: { storageDriver: { ...fixture.driverConfig(), bucket } } } });
    t.after(() => server.stop());
    for (const path of ['/readyz', '/startupz']) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 503, path);
      const body = (await res.json()) as ErrorBody;
      assert.equal(body.errors[0]!.code, 'UNAVAILABLE');
      assert.equal(body.errors[0]!.detail.checks['storage'], 'NoSuchBucket', path);
    }
    assert.equal((await fetch(`${server.url}/livez`)).status, 200);
    assert.ok(
      server.logRecords().some((r) => r.msg === 'storage is not ready' && r.storage === 'NoSuchBucket'),
      server.logs(),
    );

    await fixture.cluster.createBucket(bucket);
    await eventually('/readyz once the bucket exists', async () => (await fetch(`${server.url}/readyz`)).status === 200);
    assert.equal((await fetch(`${server.url}/startupz`)).status, 200);
  });
});
