/**
 * skopeo against a real `zot-cli serve`: copies in (from a hand-made OCI layout and from a buildah image) and
 * out (to dir: and oci:) with digest equality, Docker schema2, inspect, list-tags, delete, and cross-repository
 * blob mounts.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { ClientSandbox, MEDIA_TYPES, makeImage, sha256, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
import { DEST_PLAIN, PLAIN, SRC_PLAIN, findRequestRecords, readDirCopy, referencedBlobs, reportIfServerDied } from './clients.js';
import { getManifest, listTags } from './registry-http.js';

describe('skopeo end to end', { skip: skipUnlessPrograms('skopeo', 'buildah') }, () => {
  let server: RunningServer;
  let clients: ClientSandbox;

  before(async () => {
    server = await startServer();
    clients = await ClientSandbox.create('zot-e2e-skopeo-');
  });

  after(async () => {
    reportIfServerDied(server);
    await server?.stop();
    await clients?.cleanup();
  });

  it('copies a hand-made OCI layout in and back out to dir: and oci: with identical digests', async () => {
    const image = makeImage({ layers: 3, layerSize: 200_000 });
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);

    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:v1`, `docker://${server.host}/skopeo/from-oci:v1`);

    // The registry keeps the manifest byte-for-byte: same digest over HTTP...
    const served = await getManifest(server.url, 'skopeo/from-oci', 'v1');
    assert.equal(served.status, 200);
    assert.ok(served.body.equals(image.manifest), 'served manifest bytes equal the pushed ones');
    assert.equal(served.headers.get('docker-content-digest'), image.descriptor.digest);

    // ...and through skopeo into a dir: copy, with every blob hashing to its name.
    const out = await clients.makeDir('out-dir');
    await clients.skopeo('copy', SRC_PLAIN, `docker://${server.host}/skopeo/from-oci:v1`, `dir:${out}`);
    const copy = await readDirCopy(out);
    assert.equal(copy.manifestDigest, image.descriptor.digest);
    assert.deepEqual([...copy.blobs].sort(), [image.config.descriptor.digest, ...image.layers.map((l) => l.descriptor.digest)].sort());

    // ...and into an oci: layout.
    const ociOut = await clients.makeDir('out-oci');
    await clients.skopeo('copy', SRC_PLAIN, `docker://${server.host}/skopeo/from-oci:v1`, `oci:${ociOut}:pulled`);
    const index = JSON.parse(await readFile(join(ociOut, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    assert.equal(index.manifests[0]?.digest, image.descriptor.digest);
    for (const layer of image.layers) {
      const bytes = await readFile(join(ociOut, 'blobs', 'sha256', layer.descriptor.digest.slice(7)));
      assert.ok(bytes.equals(layer.data), `layer ${layer.descriptor.digest} round-trips byte for byte`);
    }
  });

  it('copies a buildah-built image in from containers-storage and back out', async () => {
    const imageId = await clients.buildImage('localhost/skopeo-built:1', { files: 2, fileSize: 100_000 });
    const built = JSON.parse((await clients.buildah('inspect', '--type', 'image', 'localhost/skopeo-built:1')).stdout) as {
      OCIv1: { rootfs: { diff_ids: string[] } };
    };

    const digestFile = join(clients.dir, 'built.digest');
    await clients.skopeo(
      'copy',
      DEST_PLAIN,
      '--digestfile',
      digestFile,
      clients.storageRef('localhost/skopeo-built:1'),
      `docker://${server.host}/skopeo/built:1`,
    );
    const pushedDigest = (await readFile(digestFile, 'utf8')).trim();

    const out = await clients.makeDir('built-out');
    await clients.skopeo('copy', SRC_PLAIN, `docker://${server.host}/skopeo/built:1`, `dir:${out}`);
    const copy = await readDirCopy(out);
    assert.equal(copy.manifestDigest, pushedDigest, 'pulled manifest is the one skopeo pushed');
    const referenced = referencedBlobs(copy.manifest);
    assert.deepEqual([...copy.blobs].sort(), [...referenced].sort(), 'every referenced blob was pulled');
    // skopeo compressed the layers on the way in; the config (and so the image ID and diff IDs) is unchanged.
    assert.equal(referenced[0], `sha256:${imageId}`);
    const config = JSON.parse(await readFile(join(out, imageId), 'utf8')) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.rootfs.diff_ids, built.OCIv1.rootfs.diff_ids);
  });

  it('pushes Docker schema2 with --format v2s2 and pulls it back byte-identical', async () => {
    const image = makeImage({ layers: 2 });
    const layout = await clients.makeDir('layout-v2s2');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    const digestFile = join(clients.dir, 'v2s2.digest');

    await clients.skopeo(
      'copy',
      DEST_PLAIN,
      '--format',
      'v2s2',
      '--digestfile',
      digestFile,
      `oci:${layout}:v1`,
      `docker://${server.host}/skopeo/docker:v2`,
    );
    const pushedDigest = (await readFile(digestFile, 'utf8')).trim();
    assert.notEqual(pushedDigest, image.descriptor.digest, 'skopeo converted the manifest');

    const served = await getManifest(server.url, 'skopeo/docker', 'v2');
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), MEDIA_TYPES.dockerManifest);
    assert.equal(sha256(served.body), pushedDigest);
    assert.equal(served.headers.get('docker-content-digest'), pushedDigest);

    const raw = (await clients.skopeo('inspect', PLAIN, '--raw', `docker://${server.host}/skopeo/docker:v2`)).stdout;
    assert.equal(sha256(Buffer.from(raw)), pushedDigest, 'skopeo inspect --raw returns the stored bytes');

    const out = await clients.makeDir('v2s2-out');
    await clients.skopeo('copy', SRC_PLAIN, `docker://${server.host}/skopeo/docker:v2`, `dir:${out}`);
    const copy = await readDirCopy(out);
    assert.equal(copy.manifestDigest, pushedDigest);
    assert.equal((JSON.parse(copy.manifest.toString()) as { mediaType: string }).mediaType, MEDIA_TYPES.dockerManifest);
    // Docker schema2 keeps the layer blobs; only the manifest and config wrapper differ.
    for (const layer of image.layers) assert.ok(copy.blobs.has(layer.descriptor.digest), `layer ${layer.descriptor.digest} kept`);
  });

  it('answers skopeo inspect and list-tags', async () => {
    const image = makeImage({ layers: 1 });
    const layout = await clients.makeDir('layout-tags');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    for (const tag of ['1.0', '1.1', 'latest']) {
      await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:v1`, `docker://${server.host}/skopeo/tags:${tag}`);
    }

    const tags = JSON.parse((await clients.skopeo('list-tags', PLAIN, `docker://${server.host}/skopeo/tags`)).stdout) as {
      Repository: string;
      Tags: string[];
    };
    assert.equal(tags.Repository, `${server.host}/skopeo/tags`);
    assert.deepEqual([...tags.Tags].sort(), ['1.0', '1.1', 'latest']);

    const inspected = JSON.parse((await clients.skopeo('inspect', PLAIN, `docker://${server.host}/skopeo/tags:1.1`)).stdout) as {
      Digest: string;
      Layers: string[];
      Architecture: string;
      RepoTags: string[];
    };
    assert.equal(inspected.Digest, image.descriptor.digest);
    assert.deepEqual(
      inspected.Layers,
      image.layers.map((l) => l.descriptor.digest),
    );
    assert.equal(inspected.Architecture, image.descriptor.platform?.architecture);
    assert.deepEqual([...inspected.RepoTags].sort(), ['1.0', '1.1', 'latest']);

    const config = JSON.parse(
      (await clients.skopeo('inspect', PLAIN, '--config', '--raw', `docker://${server.host}/skopeo/tags:latest`)).stdout,
    ) as {
      rootfs: { diff_ids: string[] };
    };
    assert.deepEqual(
      config.rootfs.diff_ids,
      image.layers.map((l) => l.diffId),
    );
  });

  it('deletes an image with skopeo delete', async () => {
    const keep = makeImage({ layers: 1 });
    const doomed = makeImage({ layers: 1 });
    const layout = await clients.makeDir('layout-delete');
    await writeOciLayout(layout, [
      { tag: 'keep', content: keep },
      { tag: 'doomed', content: doomed },
    ]);
    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:keep`, `docker://${server.host}/skopeo/delete:keep`);
    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:doomed`, `docker://${server.host}/skopeo/delete:doomed`);
    assert.deepEqual((await listTags(server.url, 'skopeo/delete')).sort(), ['doomed', 'keep']);

    await clients.skopeo('delete', PLAIN, `docker://${server.host}/skopeo/delete:doomed`);

    assert.equal((await getManifest(server.url, 'skopeo/delete', doomed.descriptor.digest)).status, 404);
    assert.equal((await getManifest(server.url, 'skopeo/delete', 'doomed')).status, 404);
    assert.deepEqual(await listTags(server.url, 'skopeo/delete'), ['keep']);
    const gone = await clients.run('skopeo', ['inspect', PLAIN, `docker://${server.host}/skopeo/delete:doomed`], { allowFailure: true });
    assert.notEqual(gone.code, 0, 'inspecting a deleted tag fails');
    assert.match(gone.stderr, /manifest unknown|not found/i);
    assert.equal((await getManifest(server.url, 'skopeo/delete', 'keep')).status, 200, 'the other image is untouched');
  });

  it('mounts blobs across repositories instead of uploading them again', async () => {
    const image = makeImage({ layers: 2, layerSize: 300_000 });
    const layout = await clients.makeDir('layout-mount');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    // The first push teaches skopeo's blob-location cache where these layers live.
    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:v1`, `docker://${server.host}/mount/source:v1`);

    const second = await clients.skopeo('--debug', 'copy', DEST_PLAIN, `oci:${layout}:v1`, `docker://${server.host}/mount/target:v1`);
    const mountAttempts = second.stderr
      .split('\n')
      .filter((line) => line.includes('from=mount%2Fsource') || line.includes('from=mount/source'));
    assert.ok(mountAttempts.length > 0, `skopeo tried a mount:\n${second.stderr.slice(-3000)}`);
    assert.match(second.stderr, /mount OK/, 'skopeo reports the mount succeeded');

    for (const layer of image.layers) {
      // skopeo uploads with POST + PUT, so a POST answered 201 for this blob in the target repository is the mount.
      const mounted = findRequestRecords(server.logRecords(), 'POST', 201, ['mount/target', layer.descriptor.digest]);
      assert.ok(mounted.length > 0, `the server logged a 201 mount for ${layer.descriptor.digest}`);
      const head = await fetch(`${server.url}/v2/mount/target/blobs/${layer.descriptor.digest}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(layer.descriptor.size));
    }
    const served = await getManifest(server.url, 'mount/target', 'v1');
    assert.ok(served.body.equals(image.manifest));
  });
});
