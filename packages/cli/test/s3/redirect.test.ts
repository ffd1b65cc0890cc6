/**
 * `storage.storageDriver.redirect`: blob pulls are answered with a 307 to a presigned URL on the object store
 * (a real Ceph RADOS Gateway), which clients follow with their Range header; manifests and HEAD still come
 * from the registry. Two replicas on one bucket, one with redirects on: what skopeo pulls through it is
 * byte for byte what was pushed.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { ClientSandbox, makeImage, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
import { DEST_PLAIN, SRC_PLAIN, readDirCopy } from '../e2e/clients.js';
import { cephUnavailable, startS3Fixture, type S3Fixture } from './cluster.js';

const skip = (await cephUnavailable()) ?? skipUnlessPrograms('skopeo');

describe('blob pulls redirected to presigned S3 URLs (Ceph RGW)', { skip }, () => {
  let fixture: S3Fixture;
  let streaming: RunningServer;
  let redirecting: RunningServer;
  let clients: ClientSandbox;
  const image = makeImage({ layers: 2, layerSize: 3 * 1024 * 1024 });

  before(async () => {
    fixture = await startS3Fixture();
    const storageDriver = fixture.driverConfig('redirected');
    [streaming, redirecting] = await Promise.all([
      startServer({ config: { storage: { storageDriver } } }),
      startServer({ config: { storage: { storageDriver: { ...storageDriver, redirect: true, redirectexpiry: 600 } } } }),
    ]);
    clients = await ClientSandbox.create('zot-s3-redirect-');
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:v1`, `docker://${streaming.host}/team/app:v1`);
  });

  after(async () => {
    await Promise.all([streaming?.stop(), redirecting?.stop()]);
    await clients?.cleanup();
    await fixture?.cluster.stop();
  });

  const blobGets = (server: RunningServer): Array<Record<string, unknown>> =>
    server.logRecords().filter((r) => r.msg === 'request' && r.operation === 'getBlob');

  it('skopeo pulls through the redirecting replica, byte for byte, every blob GET answered 307', async () => {
    const before = blobGets(redirecting).length;
    const out = await clients.makeDir('pulled');
    await clients.skopeo('copy', SRC_PLAIN, `docker://${redirecting.host}/team/app:v1`, `dir:${out}`);
    const copy = await readDirCopy(out);
    assert.equal(copy.manifestDigest, image.descriptor.digest);
    for (const blob of [image.config, ...image.layers]) {
      const bytes = await readFile(join(out, blob.descriptor.digest.slice('sha256:'.length)));
      assert.ok(bytes.equals(blob.data), `blob ${blob.descriptor.digest} arrived intact`);
    }
    const gets = blobGets(redirecting).slice(before);
    assert.ok(gets.length >= 1 + image.layers.length, `config and layers were asked of the registry (${gets.length} GETs)`);
    assert.deepEqual(
      gets.map((r) => r.status),
      gets.map(() => 307),
      'each blob GET was redirected',
    );
  });

  it('a GET answers 307 with Location and Docker-Content-Digest; the URL serves the blob and ranges of it', async () => {
    const layer = image.layers[0]!;
    const url = `${redirecting.url}/v2/team/app/blobs/${layer.descriptor.digest}`;
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 307);
    assert.equal(res.headers.get('docker-content-digest'), layer.descriptor.digest);
    const location = res.headers.get('location')!;
    assert.ok(location.startsWith(`${fixture.cluster.endpoint}/`), `Location points at the store: ${location.split('?')[0]}`);
    assert.match(location, /X-Amz-Expires=600\b/, 'the configured lifetime');
    const direct = Buffer.from(await (await fetch(location)).arrayBuffer());
    assert.ok(direct.equals(layer.data), 'the presigned URL serves the exact bytes');

    const ranged = await fetch(url, { headers: { Range: 'bytes=100-1099' } });
    assert.equal(ranged.status, 206, 'fetch followed the redirect with its Range header');
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(layer.data.subarray(100, 1100)));

    const head = await fetch(url, { method: 'HEAD', redirect: 'manual' });
    assert.equal(head.status, 200, 'HEAD is answered by the registry');
    assert.equal(head.headers.get('content-length'), String(layer.data.length));
    const missing = await fetch(`${redirecting.url}/v2/team/app/blobs/sha256:${'0'.repeat(64)}`, { redirect: 'manual' });
    assert.equal(missing.status, 404, 'a blob the repository does not hold is not redirected');
    const elsewhere = await fetch(`${redirecting.url}/v2/other/repo/blobs/${layer.descriptor.digest}`, { redirect: 'manual' });
    assert.equal(elsewhere.status, 404, 'nor one held by another repository');
  });

  it('the replica without redirect streams blobs itself', async () => {
    const layer = image.layers[1]!;
    const res = await fetch(`${streaming.url}/v2/team/app/blobs/${layer.descriptor.digest}`, { redirect: 'manual' });
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(layer.data));
  });
});
