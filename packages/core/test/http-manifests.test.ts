import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { MediaTypes } from '../src/index.js';
import { assertError, digestOf, json, testRegistry, type Client } from './support/http.js';

const MiB = 1024 * 1024;

async function putManifest(
  client: Client,
  repository: string,
  reference: string,
  body: Buffer | string,
  contentType: string = MediaTypes.ociManifest,
) {
  return client.send('PUT', `/v2/${repository}/manifests/${reference}`, { body, headers: { 'content-type': contentType } });
}

/** An OCI image manifest of exactly `size` bytes, padded with an annotation. */
function manifestOfSize(size: number, config: { digest: string; size: number }): Buffer {
  const base = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [],
    annotations: { pad: '' },
  };
  const overhead = Buffer.byteLength(JSON.stringify(base));
  base.annotations.pad = 'x'.repeat(size - overhead);
  const bytes = Buffer.from(JSON.stringify(base));
  assert.equal(bytes.length, size);
  return bytes;
}

describe('HTTP: pushing manifests (PUT /v2/{name}/manifests/{reference})', () => {
  it('by tag: 201 with Location and Docker-Content-Digest; pulled back byte for byte by tag and digest', async () => {
    const { client } = testRegistry();
    const image = await client.pushImage('repo', 'v1');
    for (const reference of ['v1', image.digest]) {
      const reply = await client.get(`/v2/repo/manifests/${reference}`);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, image.manifest);
      assert.equal(reply.headers['content-type'], MediaTypes.ociManifest);
      assert.equal(reply.headers['docker-content-digest'], image.digest);
      assert.equal(reply.headers['content-length'], String(image.manifest.length));
      const head = await client.head(`/v2/repo/manifests/${reference}`);
      assert.equal(head.status, 200);
      assert.equal(head.hasBody, false);
      assert.equal(head.headers['content-type'], MediaTypes.ociManifest);
      assert.equal(head.headers['docker-content-digest'], image.digest);
      assert.equal(head.headers['content-length'], String(image.manifest.length));
    }
  });

  it('keeps the exact bytes (whitespace, key order) and the pushed Content-Type', async () => {
    const { client } = testRegistry();
    const config = await client.pushBlob('repo', '{}');
    const manifest = `{\n  "schemaVersion" : 2,\n\t"config": {"size": 2, "digest": "${config}", "mediaType": "application/vnd.oci.image.config.v1+json"},\n  "layers": []\n}\n\n`;
    const reply = await putManifest(client, 'repo', 'spaced', manifest);
    assert.equal(reply.status, 201);
    assert.equal(reply.headers['location'], `/v2/repo/manifests/${digestOf(manifest)}`);
    assert.equal(reply.headers['docker-content-digest'], digestOf(manifest));
    assert.equal(reply.outcome.digest, digestOf(manifest));
    const got = await client.get('/v2/repo/manifests/spaced');
    assert.equal(got.body.toString(), manifest);
    assert.equal(got.headers['content-type'], MediaTypes.ociManifest, 'no mediaType field: the pushed Content-Type');
  });

  it('by digest: stored untagged, pullable by digest; a wrong digest answers 400 DIGEST_INVALID', async () => {
    const { client } = testRegistry();
    const config = await client.pushBlob('repo', '{}');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociEmpty, digest: config, size: 2 },
      layers: [],
    });
    const put = await putManifest(client, 'repo', digestOf(manifest), manifest);
    assert.equal(put.status, 201);
    assert.equal(put.headers['docker-content-digest'], digestOf(manifest));
    assert.equal((await client.get(`/v2/repo/manifests/${digestOf(manifest)}`)).body.toString(), manifest);
    assert.deepEqual(json(await client.get('/v2/repo/tags/list')), { name: 'repo', tags: [] });
    assertError(await putManifest(client, 'repo', digestOf('other bytes'), manifest), 400, 'DIGEST_INVALID');
    // A percent-encoded digest reference works as well.
    assert.equal((await client.get(`/v2/repo/manifests/${digestOf(manifest).replace(':', '%3A')}`)).status, 200);
  });

  it('by sha512 digest: the manifest is addressed by its sha512', async () => {
    const { client } = testRegistry();
    const config = await client.pushBlob('repo', '{}');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociEmpty, digest: config, size: 2 },
      layers: [],
    });
    const d512 = digestOf(manifest, 'sha512');
    const put = await putManifest(client, 'repo', d512, manifest);
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(put.headers['docker-content-digest'], d512);
    const got = await client.get(`/v2/repo/manifests/${d512}`);
    assert.equal(got.body.toString(), manifest);
    assert.equal(got.headers['docker-content-digest'], d512);
  });

  it('invalid manifests answer 400 MANIFEST_INVALID', async () => {
    const { client } = testRegistry();
    assertError(await putManifest(client, 'repo', 'bad', 'not json'), 400, 'MANIFEST_INVALID');
    assertError(await putManifest(client, 'repo', 'bad', '{"schemaVersion":1}'), 400, 'MANIFEST_INVALID');
    assertError(await putManifest(client, 'repo', 'bad', ''), 400, 'MANIFEST_INVALID');
    const image = await client.pushImage('repo', 'ok');
    assertError(await putManifest(client, 'repo', 'bad', image.manifest, MediaTypes.ociIndex), 400, 'MANIFEST_INVALID');
    assertError(await putManifest(client, 'repo', 'bad', image.manifest, MediaTypes.dockerManifest), 400, 'MANIFEST_INVALID');
    assertError(await client.get('/v2/repo/manifests/bad'), 404, 'MANIFEST_UNKNOWN');
  });

  it('invalid tags answer 400 TAG_INVALID', async () => {
    const { client } = testRegistry();
    const image = await client.pushImage('repo', 'ok');
    for (const tag of ['.hidden', '-dash', 'a'.repeat(129), '%2e%2e', 'a%2Fb']) {
      assertError(await putManifest(client, 'repo', tag, image.manifest), 400, 'TAG_INVALID');
    }
    assert.equal((await putManifest(client, 'repo', 'a'.repeat(128), image.manifest)).status, 201);
  });

  it('references to unknown blobs or child manifests answer 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const { client } = testRegistry();
    const config = await client.pushBlob('repo', '{}');
    const missingLayer = digestOf('never pushed');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociEmpty, digest: config, size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: missingLayer, size: 12 }],
    });
    const body = assertError(await putManifest(client, 'repo', 'v1', manifest), 400, 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual(body.errors[0]!.detail, { digests: [missingLayer] });

    const elsewhere = await client.pushBlob('other', 'a layer in another repository');
    const foreign = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociEmpty, digest: config, size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: elsewhere, size: 29 }],
    });
    assertError(await putManifest(client, 'repo', 'v1', foreign), 400, 'MANIFEST_BLOB_UNKNOWN');

    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [{ mediaType: MediaTypes.ociManifest, digest: digestOf('no such manifest'), size: 10 }],
    });
    assertError(await putManifest(client, 'repo', 'multi', index, MediaTypes.ociIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
    assertError(await client.get('/v2/repo/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
  });

  it('foreign layers (with urls) need not be in the registry', async () => {
    const { client } = testRegistry();
    const config = await client.pushBlob('repo', '{}');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifest,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: config, size: 2 },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
          digest: digestOf('windows base layer'),
          size: 18,
          urls: ['https://mcr.example.com/layer'],
        },
      ],
    });
    assert.equal((await putManifest(client, 'repo', 'win', manifest, MediaTypes.dockerManifest)).status, 201);
  });

  it('an image index over pushed manifests, and Docker schema 2 manifest and manifest list', async () => {
    const { client } = testRegistry();
    const amd = await client.pushImage('multi', 'amd64');
    const arm = await client.pushImage('multi', 'arm64');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [
        {
          mediaType: MediaTypes.ociManifest,
          digest: amd.digest,
          size: amd.manifest.length,
          platform: { architecture: 'amd64', os: 'linux' },
        },
        {
          mediaType: MediaTypes.ociManifest,
          digest: arm.digest,
          size: arm.manifest.length,
          platform: { architecture: 'arm64', os: 'linux' },
        },
      ],
    });
    assert.equal((await putManifest(client, 'multi', 'latest', index, MediaTypes.ociIndex)).status, 201);
    const got = await client.get('/v2/multi/manifests/latest');
    assert.equal(got.headers['content-type'], MediaTypes.ociIndex);
    assert.equal(got.body.toString(), index);

    const config = await client.pushBlob('docker', '{"architecture":"amd64"}');
    const layer = await client.pushBlob('docker', 'docker layer');
    const docker = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifest,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: config, size: 24 },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layer, size: 12 }],
    });
    assert.equal((await putManifest(client, 'docker', 'v2s2', docker, MediaTypes.dockerManifest)).status, 201);
    assert.equal((await client.get('/v2/docker/manifests/v2s2')).headers['content-type'], MediaTypes.dockerManifest);
    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifestList,
      manifests: [
        {
          mediaType: MediaTypes.dockerManifest,
          digest: digestOf(docker),
          size: docker.length,
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    });
    assert.equal((await putManifest(client, 'docker', 'list', list, MediaTypes.dockerManifestList)).status, 201);
    const head = await client.head('/v2/docker/manifests/list');
    assert.equal(head.headers['content-type'], MediaTypes.dockerManifestList);
    assert.equal(head.headers['docker-content-digest'], digestOf(list));
  });

  it('a manifest whose subject does not exist is accepted, with OCI-Subject', async () => {
    const { client } = testRegistry();
    const config = await client.pushBlob('repo', '{}');
    const subject = digestOf('a manifest pushed later');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: 'application/vnd.example.signature',
      config: { mediaType: MediaTypes.ociEmpty, digest: config, size: 2 },
      layers: [],
      subject: { mediaType: MediaTypes.ociManifest, digest: subject, size: 100 },
    });
    const reply = await putManifest(client, 'repo', digestOf(manifest), manifest);
    assert.equal(reply.status, 201);
    assert.equal(reply.headers['oci-subject'], subject);
    const referrers = json<{ manifests: Array<{ digest: string }> }>(await client.get(`/v2/repo/referrers/${subject}`));
    assert.deepEqual(
      referrers.manifests.map((m) => m.digest),
      [digestOf(manifest)],
    );
  });

  it('a manifest without subject gets no OCI-Subject header', async () => {
    const { client } = testRegistry();
    const image = await client.pushImage('repo', 'v1');
    const again = await putManifest(client, 'repo', 'v2', image.manifest);
    assert.equal(again.headers['oci-subject'], undefined);
  });

  it('manifests up to 4 MiB are accepted; larger ones answer 413, with or without Content-Length', async () => {
    const { client } = testRegistry();
    const config = { digest: await client.pushBlob('repo', '{}'), size: 2 };
    const limit = manifestOfSize(4 * MiB, config);
    assert.equal((await putManifest(client, 'repo', 'big', limit)).status, 201);
    assert.deepEqual((await client.get('/v2/repo/manifests/big')).body, limit);

    const over = manifestOfSize(4 * MiB + 1, config);
    assertError(await putManifest(client, 'repo', 'too-big', over), 413, 'SIZE_INVALID');
    const streamed = await client.send('PUT', '/v2/repo/manifests/too-big', {
      stream: Readable.from([over.subarray(0, MiB), over.subarray(MiB)]),
      headers: { 'content-type': MediaTypes.ociManifest, 'transfer-encoding': 'chunked' },
    });
    assertError(streamed, 413, 'SIZE_INVALID');
    const lying = await client.send('PUT', '/v2/repo/manifests/too-big', {
      stream: Readable.from([over]),
      headers: { 'content-type': MediaTypes.ociManifest, 'content-length': '100' },
    });
    assert.ok([400, 413].includes(lying.status), `a body longer than its Content-Length is refused (${lying.status})`);
    assertError(await client.get('/v2/repo/manifests/too-big'), 404, 'MANIFEST_UNKNOWN');
  });

  it('the size limit is configurable', async () => {
    const { client } = testRegistry({ maxManifestBytes: 1000 });
    const config = { digest: await client.pushBlob('repo', '{}'), size: 2 };
    assert.equal((await putManifest(client, 'repo', 'ok', manifestOfSize(1000, config))).status, 201);
    assertError(await putManifest(client, 'repo', 'big', manifestOfSize(1001, config)), 413, 'SIZE_INVALID');
  });

  it('re-tagging moves the tag; the previous manifest stays pullable by digest', async () => {
    const { client } = testRegistry();
    const first = await client.pushImage('repo', 'latest');
    const second = await client.pushImage('repo', 'latest');
    assert.equal((await client.get('/v2/repo/manifests/latest')).headers['docker-content-digest'], second.digest);
    assert.equal((await client.get(`/v2/repo/manifests/${first.digest}`)).status, 200);
    assert.deepEqual(json(await client.get('/v2/repo/tags/list')), { name: 'repo', tags: ['latest'] });
  });
});

describe('HTTP: pulling manifests', () => {
  it('unknown manifests answer 404 MANIFEST_UNKNOWN; unknown repositories 404 NAME_UNKNOWN', async () => {
    const { client } = testRegistry();
    await client.pushImage('repo', 'v1');
    assertError(await client.get('/v2/repo/manifests/v2'), 404, 'MANIFEST_UNKNOWN');
    assertError(await client.get(`/v2/repo/manifests/${digestOf('nothing')}`), 404, 'MANIFEST_UNKNOWN');
    assertError(await client.head('/v2/repo/manifests/v2'), 404, 'MANIFEST_UNKNOWN');
    assertError(await client.get('/v2/nothing/here/manifests/v1'), 404, 'NAME_UNKNOWN');
    assertError(await client.get('/v2/repo/manifests/sha256:abc'), 400, 'DIGEST_INVALID');
    // A reference that cannot be a tag names no manifest (the conformance suite expects 404).
    assertError(await client.get('/v2/repo/manifests/..'), 404, 'MANIFEST_UNKNOWN');
    assertError(await client.send('DELETE', '/v2/repo/manifests/.hidden'), 404, 'MANIFEST_UNKNOWN');
  });

  it('a manifest pushed to one repository is not visible from another', async () => {
    const { client } = testRegistry();
    const image = await client.pushImage('one', 'v1');
    await client.pushImage('two', 'v1');
    assertError(await client.get(`/v2/two/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
  });
});

describe('HTTP: deleting manifests and tags (DELETE /v2/{name}/manifests/{reference})', () => {
  it('deleting a tag removes the tag only: the manifest stays pullable by digest and other tags', async () => {
    const { client } = testRegistry();
    const image = await client.pushImage('repo', 'v1');
    assert.equal((await putManifest(client, 'repo', 'stable', image.manifest)).status, 201);
    const reply = await client.send('DELETE', '/v2/repo/manifests/v1');
    assert.equal(reply.status, 202);
    assertError(await client.get('/v2/repo/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await client.get('/v2/repo/manifests/stable')).status, 200);
    assert.equal((await client.get(`/v2/repo/manifests/${image.digest}`)).status, 200);
    assert.deepEqual(json(await client.get('/v2/repo/tags/list')), { name: 'repo', tags: ['stable'] });
    await client.send('DELETE', '/v2/repo/manifests/stable');
    assert.equal((await client.get(`/v2/repo/manifests/${image.digest}`)).status, 200, 'untagged, still there');
    assertError(await client.send('DELETE', '/v2/repo/manifests/stable'), 404, 'MANIFEST_UNKNOWN');
  });

  it('deleting by digest removes the manifest and every tag pointing to it', async () => {
    const { client } = testRegistry();
    const image = await client.pushImage('repo', 'v1');
    await putManifest(client, 'repo', 'latest', image.manifest);
    const other = await client.pushImage('repo', 'other');
    assert.equal((await client.send('DELETE', `/v2/repo/manifests/${image.digest}`)).status, 202);
    for (const reference of ['v1', 'latest', image.digest]) {
      assertError(await client.get(`/v2/repo/manifests/${reference}`), 404, 'MANIFEST_UNKNOWN');
    }
    assert.deepEqual(json(await client.get('/v2/repo/tags/list')), { name: 'repo', tags: ['other'] });
    assert.equal((await client.get(`/v2/repo/manifests/${other.digest}`)).status, 200);
    assertError(await client.send('DELETE', `/v2/repo/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  it('deleting in an unknown repository answers 404 NAME_UNKNOWN', async () => {
    const { client } = testRegistry();
    assertError(await client.send('DELETE', `/v2/nothing/manifests/${digestOf('x')}`), 404, 'NAME_UNKNOWN');
    assertError(await client.send('DELETE', '/v2/nothing/manifests/v1'), 404, 'NAME_UNKNOWN');
  });

  it('with deletion disabled, DELETE answers 405 UNSUPPORTED and keeps everything', async () => {
    const { client } = testRegistry({ deleteEnabled: false });
    const image = await client.pushImage('repo', 'v1');
    assertError(await client.send('DELETE', '/v2/repo/manifests/v1'), 405, 'UNSUPPORTED');
    assertError(await client.send('DELETE', `/v2/repo/manifests/${image.digest}`), 405, 'UNSUPPORTED');
    assert.equal((await client.get('/v2/repo/manifests/v1')).status, 200);
  });
});
