/**
 * Three `zot-cli serve` replicas on different ports sharing one S3 bucket (a real Ceph RADOS Gateway),
 * as behind a load balancer without stickiness: a push through one is pulled through another, an
 * upload session moves between replicas chunk by chunk, concurrent tag pushes through all three lose
 * nothing, and garbage collection beside a push never removes a blob the push goes on to reference.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectGarbage } from '@zotjs/core';
import { S3Storage, optionsFromDriverConfig } from '@zotjs/storage-s3';
import { startServer, type RunningServer } from '../helpers/server.js';
import { ClientSandbox, MEDIA_TYPES, makeImage, sha256, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
import { DEST_PLAIN, PLAIN, SRC_PLAIN, readDirCopy } from '../e2e/clients.js';
import { getManifest, listTags, pushBlob, putManifest } from '../e2e/registry-http.js';
import { cephUnavailable, startS3Fixture, type S3Fixture } from './cluster.js';

const skip = (await cephUnavailable()) ?? skipUnlessPrograms('skopeo', 'buildah');

describe('three replicas on one S3 bucket (Ceph RGW)', { skip }, () => {
  let fixture: S3Fixture;
  let replicas: RunningServer[] = [];
  let clients: ClientSandbox;

  before(async () => {
    fixture = await startS3Fixture();
    const storageDriver = fixture.driverConfig('replicated');
    replicas = await Promise.all([1, 2, 3].map(() => startServer({ config: { storage: { storageDriver } } })));
    clients = await ClientSandbox.create('zot-s3-replicas-');
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await clients?.cleanup();
    await fixture?.cluster.stop();
  });

  it('an image pushed through replica 1 is pulled through replica 3, byte for byte', async () => {
    const [one, , three] = replicas as [RunningServer, RunningServer, RunningServer];
    // One layer of 12 MiB: more than one S3 part (10 MiB), so it goes through a multipart upload.
    const image = makeImage({ layers: 2, layerSize: 12 * 1024 * 1024 });
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:v1`, `docker://${one.host}/team/app:v1`);

    const out = await clients.makeDir('pulled');
    await clients.skopeo('copy', SRC_PLAIN, `docker://${three.host}/team/app:v1`, `dir:${out}`);
    const copy = await readDirCopy(out);
    assert.equal(copy.manifestDigest, image.descriptor.digest);
    for (const layer of image.layers) {
      const bytes = await readFile(join(out, layer.descriptor.digest.slice('sha256:'.length)));
      assert.ok(bytes.equals(layer.data), `layer ${layer.descriptor.digest} pulled through another replica`);
    }
    const inspected = JSON.parse((await clients.skopeo('inspect', PLAIN, `docker://${replicas[1]!.host}/team/app:v1`)).stdout) as {
      Digest: string;
    };
    assert.equal(inspected.Digest, image.descriptor.digest, 'the third replica sees it too');
  });

  it('a chunked upload moves between replicas: POST on 1, PATCH on 2 and 3, PUT on 1', async () => {
    const data = randomBytes(23 * 1024 * 1024 + 123);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const [one, two, three] = replicas as [RunningServer, RunningServer, RunningServer];
    const started = await fetch(`${one.url}/v2/chunked/blob/blobs/uploads/`, { method: 'POST' });
    assert.equal(started.status, 202);
    let location = started.headers.get('location')!;
    // Chunks of 11 MiB, 1 MiB (both held back as less than a part in the bucket), then the rest with the PUT.
    const cuts = [0, 11 * 1024 * 1024, 12 * 1024 * 1024];
    const route = [two, three];
    for (let i = 0; i < route.length; i++) {
      const chunk = data.subarray(cuts[i]!, cuts[i + 1]!);
      const res = await fetch(new URL(location, route[i]!.url), {
        method: 'PATCH',
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${cuts[i]}-${cuts[i + 1]! - 1}` },
        body: chunk,
      });
      assert.equal(res.status, 202, `PATCH ${i + 1} through replica ${i + 2}: ${await res.text()}`);
      assert.equal(res.headers.get('range'), `0-${cuts[i + 1]! - 1}`);
      location = res.headers.get('location')!;
    }
    // Replica 1 never saw the chunks: it asks the bucket where the session stands, then re-hashes it.
    const status = await fetch(new URL(location, one.url));
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${cuts[2]! - 1}`);
    const finalUrl = new URL(location, one.url);
    finalUrl.searchParams.set('digest', digest);
    const put = await fetch(finalUrl, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${cuts[2]}-${data.length - 1}` },
      body: data.subarray(cuts[2]!),
    });
    assert.equal(put.status, 201, await put.text());

    const got = await fetch(`${three.url}/v2/chunked/blob/blobs/${digest}`);
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data), 'the blob assembled across replicas is intact');
    const ranged = await fetch(`${two.url}/v2/chunked/blob/blobs/${digest}`, { headers: { range: 'bytes=10485750-10485769' } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(10485750, 10485770)), 'a range across an S3 part boundary');
  });

  it('concurrent tag pushes to one repository through all three replicas lose no tag', async () => {
    const image = makeImage({ layers: 1, layerSize: 32 * 1024 });
    const repository = 'racy/tags';
    for (const blob of [image.config, ...image.layers]) await pushBlob(replicas[0]!.url, repository, blob);

    // 45 manifest PUTs over plain HTTP (15 per replica, all at once)...
    const httpTags = Array.from({ length: 45 }, (_, i) => `http-${String(i).padStart(2, '0')}`);
    const responses = await Promise.all(
      httpTags.map((tag, i) => putManifest(replicas[i % 3]!.url, repository, tag, image.manifest, MEDIA_TYPES.ociManifest)),
    );
    for (const [i, res] of responses.entries()) assert.equal(res.status, 201, `tag ${httpTags[i]}: ${await res.text()}`);

    // ...and 6 skopeo pushes at once, two per replica.
    const layout = await clients.makeDir('layout-racy');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    const skopeoTags = Array.from({ length: 6 }, (_, i) => `skopeo-${i}`);
    await Promise.all(
      skopeoTags.map((tag, i) =>
        clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:v1`, `docker://${replicas[i % 3]!.host}/${repository}:${tag}`),
      ),
    );

    const expected = [...httpTags, ...skopeoTags].sort();
    for (const replica of replicas)
      assert.deepEqual((await listTags(replica.url, repository)).sort(), expected, `tags seen by ${replica.host}`);
    for (const tag of expected) {
      const got = await getManifest(replicas[2]!.url, repository, tag);
      assert.equal(got.status, 200, `manifest of ${tag}`);
    }
  });

  it('garbage collection beside pushes on other replicas never removes a blob a pushed manifest references', async () => {
    const repository = 'gc/race';
    const delayMs = 1500;
    // A fourth instance over the bucket runs the collector, as a replica with gc on would.
    const collector = new S3Storage(optionsFromDriverConfig(fixture.driverConfig('replicated')));
    try {
      const images = Array.from({ length: 16 }, () => makeImage({ layers: 1, layerSize: 16 * 1024 }));
      // The blobs are uploaded first and left unreferenced for longer than the delay: gc may take them...
      for (const [i, image] of images.entries()) {
        for (const blob of [image.config, ...image.layers]) await pushBlob(replicas[i % 3]!.url, repository, blob);
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs + 1200));
      // ...while the manifests referencing them are pushed through the replicas, spread over the gc pass.
      const [pushes, report] = await Promise.all([
        Promise.all(
          images.map(async (image, i) => {
            await new Promise((resolve) => setTimeout(resolve, i * 40));
            const res = await putManifest(replicas[(i + 1) % 3]!.url, repository, `v${i}`, image.manifest, MEDIA_TYPES.ociManifest);
            return { image, status: res.status, body: await res.text() };
          }),
        ),
        collectGarbage(collector, { delayMs, repositories: [repository] }),
      ]);
      let accepted = 0;
      for (const { image, status, body } of pushes) {
        if (status === 201) {
          accepted += 1;
          // Accepted: every blob it references must still be there, on every replica.
          for (const blob of [image.config, ...image.layers]) {
            for (const replica of replicas) {
              const head = await fetch(`${replica.url}/v2/${repository}/blobs/${blob.descriptor.digest}`, { method: 'HEAD' });
              assert.equal(head.status, 200, `blob ${blob.descriptor.digest} of an accepted manifest on ${replica.host}`);
            }
          }
        } else {
          // Refused: gc had removed a blob first, and the registry said so (the client re-uploads).
          assert.equal(status, 400, body);
          assert.match(body, /MANIFEST_BLOB_UNKNOWN/);
        }
      }
      const removed = report.repositories.flatMap((r) => r.blobs.map((b) => b.digest));
      const accepting = pushes
        .filter((p) => p.status === 201)
        .flatMap((p) => [p.image.config, ...p.image.layers].map((b) => b.descriptor.digest));
      assert.deepEqual(
        removed.filter((d) => accepting.includes(d)),
        [],
        'gc removed no blob of an accepted manifest',
      );
      console.log(`gc race: ${accepted} of ${pushes.length} pushes accepted, ${removed.length} unreferenced blobs removed`);

      // With the default delay (zot's gcDelay, 1 hour) nothing just uploaded is ever collected.
      const late = makeImage({ layers: 1, layerSize: 8 * 1024 });
      for (const blob of [late.config, ...late.layers]) await pushBlob(replicas[0]!.url, repository, blob);
      const second = await collectGarbage(collector, { repositories: [repository] });
      assert.deepEqual(
        second.repositories.flatMap((r) => r.blobs),
        [],
        'young blobs are kept',
      );
      const res = await putManifest(replicas[2]!.url, repository, 'late', late.manifest, MEDIA_TYPES.ociManifest);
      assert.equal(res.status, 201, await res.text());
    } finally {
      collector.destroy();
    }
  });

  it('replicas agree on the content after all of the above', async () => {
    for (const replica of replicas) {
      const catalog = (await (await fetch(`${replica.url}/v2/_catalog`)).json()) as { repositories: string[] };
      assert.deepEqual(catalog.repositories.sort(), ['chunked/blob', 'gc/race', 'racy/tags', 'team/app'].sort());
      assert.equal(
        sha256((await getManifest(replica.url, 'team/app', 'v1')).body),
        (await getManifest(replicas[0]!.url, 'team/app', 'v1')).headers.get('docker-content-digest'),
      );
    }
  });
});
