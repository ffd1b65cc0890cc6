/**
 * podman and buildah against a real `zot-cli serve` (rootful, vfs, isolated storage), and multi-arch images
 * pushed as an index (`buildah manifest push --all`, `skopeo copy --all`) and pulled back one platform at a time.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import {
  ClientSandbox,
  MEDIA_TYPES,
  hostPlatform,
  makeImage,
  makeIndex,
  sha256,
  skipUnlessPrograms,
  writeOciLayout,
  type Platform,
} from '../helpers/images.js';
import { DEST_PLAIN, PLAIN, SRC_PLAIN, readDirCopy, reportIfServerDied } from './clients.js';
import { getManifest } from './registry-http.js';

interface IndexJson {
  mediaType: string;
  manifests: Array<{ mediaType: string; digest: string; size: number; platform?: Platform }>;
}

describe('podman and buildah end to end', { skip: skipUnlessPrograms('podman', 'buildah', 'skopeo') }, () => {
  let server: RunningServer;
  let builder: ClientSandbox;

  before(async () => {
    server = await startServer();
    builder = await ClientSandbox.create('zot-e2e-podman-');
  });

  after(async () => {
    reportIfServerDied(server);
    await server?.stop();
    await builder?.cleanup();
  });

  it('podman push, then podman pull into fresh storage, keeps the image', async () => {
    const imageId = await builder.buildImage('localhost/podman-app:1', { files: 2, fileSize: 150_000 });
    const digestFile = join(builder.dir, 'podman.digest');
    await builder.podman('push', PLAIN, '--digestfile', digestFile, 'localhost/podman-app:1', `docker://${server.host}/podman/app:1`);
    const pushedDigest = (await readFile(digestFile, 'utf8')).trim();
    assert.match(pushedDigest, /^sha256:[a-f0-9]{64}$/);

    const served = await getManifest(server.url, 'podman/app', '1');
    assert.equal(served.status, 200);
    assert.equal(sha256(served.body), pushedDigest, 'the registry serves the manifest podman pushed');

    const puller = await ClientSandbox.create('zot-e2e-podman-pull-');
    try {
      await puller.podman('pull', PLAIN, `${server.host}/podman/app:1`);
      const [inspected] = JSON.parse((await puller.podman('image', 'inspect', `${server.host}/podman/app:1`)).stdout) as Array<{
        Id: string;
        Digest: string;
        RepoDigests: string[];
      }>;
      assert.ok(inspected);
      assert.equal(inspected.Id, imageId, 'same image ID (config digest) after the round trip');
      assert.equal(inspected.Digest, pushedDigest);
      assert.ok(inspected.RepoDigests.includes(`${server.host}/podman/app@${pushedDigest}`));
    } finally {
      await puller.cleanup();
    }
  });

  it('buildah push stores the image under its tag', async () => {
    const imageId = await builder.buildImage('localhost/buildah-app:1', { files: 1 });
    const digestFile = join(builder.dir, 'buildah.digest');
    await builder.buildah('push', PLAIN, '--digestfile', digestFile, 'localhost/buildah-app:1', `docker://${server.host}/buildah/app:1`);
    const pushedDigest = (await readFile(digestFile, 'utf8')).trim();

    const inspected = JSON.parse((await builder.skopeo('inspect', PLAIN, `docker://${server.host}/buildah/app:1`)).stdout) as {
      Digest: string;
    };
    assert.equal(inspected.Digest, pushedDigest);
    const rawConfig = (await builder.skopeo('inspect', PLAIN, '--config', '--raw', `docker://${server.host}/buildah/app:1`)).stdout;
    assert.equal(sha256(Buffer.from(rawConfig)), `sha256:${imageId}`, 'the config blob is the one buildah committed');
  });

  it('buildah manifest push --all stores a multi-arch index, and one platform pulls back', async () => {
    const platforms: Platform[] = [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ];
    await builder.buildMultiArch('localhost/multi:list', platforms, { files: 1, fileSize: 20_000 });
    const digestFile = join(builder.dir, 'list.digest');
    await builder.buildah(
      'manifest',
      'push',
      '--all',
      PLAIN,
      '--format',
      'oci',
      '--digestfile',
      digestFile,
      'localhost/multi:list',
      `docker://${server.host}/multi/buildah:list`,
    );
    const pushedDigest = (await readFile(digestFile, 'utf8')).trim();

    const served = await getManifest(server.url, 'multi/buildah', 'list');
    assert.equal(served.status, 200);
    assert.equal(sha256(served.body), pushedDigest);
    const index = JSON.parse(served.body.toString()) as IndexJson;
    assert.equal(index.mediaType, MEDIA_TYPES.ociIndex);
    assert.deepEqual(index.manifests.map((m) => m.platform?.architecture).sort(), ['amd64', 'arm64']);

    const arm = index.manifests.find((m) => m.platform?.architecture === 'arm64');
    assert.ok(arm);
    const out = await builder.makeDir('arm-out');
    await builder.skopeo(
      '--override-arch',
      'arm64',
      '--override-variant',
      'v8',
      'copy',
      SRC_PLAIN,
      `docker://${server.host}/multi/buildah:list`,
      `dir:${out}`,
    );
    const copy = await readDirCopy(out);
    assert.equal(copy.manifestDigest, arm.digest, 'the arm64 manifest was picked from the index');
    const config = JSON.parse(
      await readFile(join(out, (JSON.parse(copy.manifest.toString()) as { config: { digest: string } }).config.digest.slice(7)), 'utf8'),
    ) as {
      architecture: string;
    };
    assert.equal(config.architecture, 'arm64');
  });

  it('skopeo copy --all pushes a hand-made index byte for byte, and podman pulls the host platform', async () => {
    const host = hostPlatform();
    const other: Platform = host.architecture === 'arm64' ? { os: 'linux', architecture: 'amd64' } : { os: 'linux', architecture: 'arm64' };
    const images = [
      makeImage({ platform: host, layers: 1 }),
      makeImage({ platform: other, layers: 1 }),
      makeImage({ platform: { os: 'linux', architecture: 's390x' }, layers: 1 }),
    ];
    const index = makeIndex(images);
    const layout = await builder.makeDir('layout-index');
    await writeOciLayout(layout, [{ tag: 'multi', content: index }]);

    await builder.skopeo('copy', '--all', DEST_PLAIN, `oci:${layout}:multi`, `docker://${server.host}/multi/skopeo:multi`);

    const served = await getManifest(server.url, 'multi/skopeo', 'multi');
    assert.ok(served.body.equals(index.manifest), 'the index is stored byte for byte');
    for (const image of images) {
      const child = await getManifest(server.url, 'multi/skopeo', image.descriptor.digest);
      assert.equal(child.status, 200);
      assert.ok(child.body.equals(image.manifest), `child ${image.descriptor.platform?.architecture} stored byte for byte`);
    }

    const puller = await ClientSandbox.create('zot-e2e-podman-index-');
    try {
      await puller.podman('pull', PLAIN, `${server.host}/multi/skopeo:multi`);
      const [inspected] = JSON.parse((await puller.podman('image', 'inspect', `${server.host}/multi/skopeo:multi`)).stdout) as Array<{
        Id: string;
        Architecture: string;
      }>;
      assert.equal(inspected?.Architecture, host.architecture);
      assert.equal(`sha256:${inspected?.Id}`, images[0]!.config.descriptor.digest, 'podman picked the host platform image');
    } finally {
      await puller.cleanup();
    }
  });

  it('podman pushes one image to two repositories, and each holds every layer', async () => {
    await builder.buildImage('localhost/shared-base:1', { files: 1 });
    await builder.podman('push', PLAIN, 'localhost/shared-base:1', `docker://${server.host}/podman/first:1`);
    await builder.podman('push', PLAIN, 'localhost/shared-base:1', `docker://${server.host}/podman/second:1`);
    const first = await getManifest(server.url, 'podman/first', '1');
    const second = await getManifest(server.url, 'podman/second', '1');
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const layers = (JSON.parse(second.body.toString()) as { layers: Array<{ digest: string }> }).layers;
    for (const layer of layers) {
      const head = await fetch(`${server.url}/v2/podman/second/blobs/${layer.digest}`, { method: 'HEAD' });
      assert.equal(head.status, 200, `layer ${layer.digest} is in the second repository`);
    }
    // And out again with skopeo, to a dir: copy whose blobs all hash to their names.
    const out = await builder.makeDir('second-out');
    await builder.skopeo('copy', SRC_PLAIN, `docker://${server.host}/podman/second:1`, `dir:${out}`);
    const copy = await readDirCopy(out);
    assert.equal(copy.manifestDigest, sha256(second.body));
  });
});
