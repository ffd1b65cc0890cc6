/**
 * Concurrent writers against one repository: no tag update may be lost, and parallel skopeo pushes all succeed,
 * in one serving process and in two sharing the port.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { ClientSandbox, MEDIA_TYPES, makeImage, sha256, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
import { DEST_PLAIN, PLAIN, reportIfServerDied } from './clients.js';
import { checkOciLayout, tagsOnDisk } from './oci-layout-check.js';
import { getManifest, listTags, pushBlob, putManifest } from './registry-http.js';

// Also with two serving processes (`http.workers`): then the writers race across processes too.
for (const workers of [1, 2])
  describe(`concurrent pushes (${workers} serving process${workers > 1 ? 'es' : ''})`, () => {
    let server: RunningServer;

    before(async () => {
      server = await startServer({ config: { http: { workers } } });
    });

    after(async () => {
      reportIfServerDied(server);
      await server?.stop();
    });

    it('50 concurrent manifest PUTs with distinct tags to one repository leave 50 tags', async () => {
      const base = makeImage({ layers: 1, layerSize: 4096 });
      await pushBlob(server.url, 'race/tags', base.config);
      await pushBlob(server.url, 'race/tags', base.layers[0]!);
      // Distinct manifests (an annotation each), so every PUT also adds a new blob and a new index entry.
      const manifests = Array.from({ length: 50 }, (_, i) => {
        const json = JSON.parse(base.manifest.toString()) as Record<string, unknown>;
        json.annotations = { 'org.example.n': String(i) };
        const bytes = Buffer.from(JSON.stringify(json));
        return { tag: `t${String(i).padStart(2, '0')}`, bytes, digest: sha256(bytes) };
      });

      const responses = await Promise.all(
        manifests.map(async (m) => {
          const res = await putManifest(server.url, 'race/tags', m.tag, m.bytes, MEDIA_TYPES.ociManifest);
          return { status: res.status, body: await res.text(), digest: res.headers.get('docker-content-digest') };
        }),
      );
      responses.forEach((res, i) => {
        assert.equal(res.status, 201, `PUT ${manifests[i]!.tag}: ${res.body}`);
        assert.equal(res.digest, manifests[i]!.digest);
      });

      const tags = await listTags(server.url, 'race/tags');
      assert.deepEqual([...tags].sort(), manifests.map((m) => m.tag).sort());
      for (const m of manifests) {
        const served = await getManifest(server.url, 'race/tags', m.tag);
        assert.ok(served.body.equals(m.bytes), `${m.tag} serves its own manifest`);
      }
      const onDisk = await tagsOnDisk(server.rootDirectory, 'race/tags');
      assert.equal(onDisk.size, 50);
      for (const m of manifests) assert.equal(onDisk.get(m.tag), m.digest);
      assert.deepEqual(await checkOciLayout(join(server.rootDirectory, 'race/tags')), []);
    });

    it('50 concurrent PUTs of one tag leave exactly one winner', async () => {
      const base = makeImage({ layers: 1, layerSize: 1024 });
      await pushBlob(server.url, 'race/one-tag', base.config);
      await pushBlob(server.url, 'race/one-tag', base.layers[0]!);
      const digests = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const json = JSON.parse(base.manifest.toString()) as Record<string, unknown>;
          json.annotations = { 'org.example.n': String(i) };
          const bytes = Buffer.from(JSON.stringify(json));
          const res = await putManifest(server.url, 'race/one-tag', 'latest', bytes, MEDIA_TYPES.ociManifest);
          await res.arrayBuffer();
          assert.equal(res.status, 201);
          return sha256(bytes);
        }),
      );
      const onDisk = await tagsOnDisk(server.rootDirectory, 'race/one-tag');
      assert.equal(onDisk.size, 1, 'one index entry carries the tag');
      const winner = onDisk.get('latest');
      assert.ok(winner && digests.includes(winner));
      const served = await getManifest(server.url, 'race/one-tag', 'latest');
      assert.equal(sha256(served.body), winner, 'the served tag agrees with index.json');
      assert.deepEqual(await checkOciLayout(join(server.rootDirectory, 'race/one-tag')), []);
    });

    it('parallel skopeo pushes of distinct images all succeed', { skip: skipUnlessPrograms('skopeo') }, async () => {
      const clients = await ClientSandbox.create('zot-e2e-parallel-');
      try {
        const images = Array.from({ length: 8 }, () => makeImage({ layers: 2, layerSize: 100_000 }));
        const layout = await clients.makeDir('layout');
        await writeOciLayout(
          layout,
          images.map((content, i) => ({ tag: `i${i}`, content })),
        );

        // Half into one shared repository (index.json contention), half into repositories of their own.
        const targets = images.map((_, i) => (i % 2 === 0 ? `parallel/shared:i${i}` : `parallel/own-${i}:i${i}`));
        await Promise.all(
          images.map((_, i) => clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:i${i}`, `docker://${server.host}/${targets[i]}`)),
        );

        for (const [i, image] of images.entries()) {
          const inspected = JSON.parse((await clients.skopeo('inspect', PLAIN, `docker://${server.host}/${targets[i]}`)).stdout) as {
            Digest: string;
          };
          assert.equal(inspected.Digest, image.descriptor.digest, `${targets[i]} holds its own image`);
        }
        assert.deepEqual((await listTags(server.url, 'parallel/shared')).sort(), ['i0', 'i2', 'i4', 'i6']);
        assert.deepEqual(await checkOciLayout(join(server.rootDirectory, 'parallel/shared')), []);
      } finally {
        await clients.cleanup();
      }
    });
  });
