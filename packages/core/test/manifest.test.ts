import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MediaTypes, RegistryError, parseManifest, referrerArtifactType } from '../src/index.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha512:${'3'.repeat(128)}`;
const CONFIG = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 100 };
const LAYER = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D2, size: 2000 };

const enc = (value: unknown): Uint8Array => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function image(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: CONFIG, layers: [LAYER], ...extra };
}

function index(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [{ mediaType: MediaTypes.ociManifest, digest: D1, size: 500, platform: { architecture: 'amd64', os: 'linux' } }],
    ...extra,
  };
}

function invalid(value: unknown, contentType: string | undefined, reason: RegExp): void {
  assert.throws(
    () => parseManifest(enc(value), contentType),
    (err: unknown) => {
      assert.ok(err instanceof RegistryError, String(err));
      assert.equal(err.code, 'MANIFEST_INVALID');
      assert.equal(err.status, 400);
      assert.match(err.message, reason);
      return true;
    },
  );
}

describe('manifest validation: the document', () => {
  it('refuses what is not JSON, not an object, or too deeply nested', () => {
    invalid('{"schemaVersion": 2,', MediaTypes.ociManifest, /not valid JSON/);
    invalid('', MediaTypes.ociManifest, /not valid JSON/);
    invalid('\uFEFF{}', MediaTypes.ociManifest, /not valid JSON/);
    invalid('[]', MediaTypes.ociManifest, /JSON object/);
    invalid('"text"', MediaTypes.ociManifest, /JSON object/);
    invalid('null', MediaTypes.ociManifest, /JSON object/);
    invalid(`${'['.repeat(200_000)}${']'.repeat(200_000)}`, MediaTypes.ociManifest, /not valid JSON|JSON object/);
  });

  it('requires schemaVersion 2 (the number)', () => {
    invalid(image({ schemaVersion: undefined }), MediaTypes.ociManifest, /schemaVersion/);
    invalid(image({ schemaVersion: 1 }), MediaTypes.ociManifest, /schemaVersion/);
    invalid(image({ schemaVersion: '2' }), MediaTypes.ociManifest, /schemaVersion/);
  });

  it('refuses unsupported media types, Docker schema 1 included', () => {
    invalid(
      image({ mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }),
      undefined,
      /unsupported manifest media type/,
    );
    invalid(image({ mediaType: undefined }), 'application/vnd.docker.distribution.manifest.v1+json', /unsupported/);
    invalid(image({ mediaType: 'application/vnd.OCI.image.manifest.v1+json' }), undefined, /unsupported/);
    invalid(image({ mediaType: 42 }), undefined, /mediaType must be a string/);
  });
});

describe('manifest validation: mediaType against Content-Type', () => {
  it('refuses a Content-Type that contradicts the mediaType field', () => {
    invalid(image(), MediaTypes.ociIndex, /does not match Content-Type/);
    invalid(image(), MediaTypes.dockerManifest, /does not match Content-Type/);
    invalid(image({ mediaType: MediaTypes.dockerManifest }), MediaTypes.ociManifest, /does not match/);
  });

  it('ignores parameters and case of the Content-Type, and generic types', () => {
    for (const contentType of [
      `${MediaTypes.ociManifest}; charset=utf-8`,
      MediaTypes.ociManifest.toUpperCase(),
      'application/json',
      'application/octet-stream',
      'text/plain; charset=utf-8',
      undefined,
      '',
    ]) {
      assert.equal(parseManifest(enc(image()), contentType).mediaType, MediaTypes.ociManifest, String(contentType));
    }
  });

  it('takes the type from Content-Type when the document has no mediaType, else guesses from its shape', () => {
    assert.equal(parseManifest(enc(image({ mediaType: undefined })), MediaTypes.dockerManifest).mediaType, MediaTypes.dockerManifest);
    assert.equal(parseManifest(enc(image({ mediaType: undefined })), undefined).mediaType, MediaTypes.ociManifest);
    assert.equal(parseManifest(enc(index({ mediaType: undefined })), 'application/json').mediaType, MediaTypes.ociIndex);
    invalid(image({ mediaType: undefined }), MediaTypes.ociIndex, /manifests array/);
  });
});

describe('manifest validation: kinds', () => {
  it('OCI image manifest: config and layers are its blobs', () => {
    const info = parseManifest(enc(image({ layers: [LAYER, { ...LAYER, digest: D3 }] })), MediaTypes.ociManifest);
    assert.equal(info.kind, 'image');
    assert.deepEqual(
      info.blobs.map((b) => b.digest),
      [D1, D2, D3],
    );
    assert.deepEqual(info.children, []);
    assert.equal(info.configMediaType, CONFIG.mediaType);
    assert.equal(referrerArtifactType(info), CONFIG.mediaType, 'without artifactType, the config media type');
  });

  it('OCI image index: the manifests are its children', () => {
    const info = parseManifest(enc(index()), MediaTypes.ociIndex);
    assert.equal(info.kind, 'index');
    assert.deepEqual(info.blobs, []);
    assert.deepEqual(
      info.children.map((c) => c.digest),
      [D1],
    );
    assert.equal(referrerArtifactType(info), undefined, 'an index without artifactType has none');
  });

  it('Docker v2 schema 2 manifest and manifest list', () => {
    const docker = {
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifest,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: D1, size: 1 },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: D2, size: 2 }],
    };
    const info = parseManifest(enc(docker), MediaTypes.dockerManifest);
    assert.equal(info.kind, 'image');
    assert.equal(info.mediaType, MediaTypes.dockerManifest);
    const list = { ...index(), mediaType: MediaTypes.dockerManifestList };
    const listInfo = parseManifest(enc(list), MediaTypes.dockerManifestList);
    assert.equal(listInfo.kind, 'index');
    assert.equal(listInfo.mediaType, MediaTypes.dockerManifestList);
  });

  it('an image manifest with no layers is valid (artifacts often have none)', () => {
    assert.deepEqual(
      parseManifest(enc(image({ layers: [] })), MediaTypes.ociManifest).blobs.map((b) => b.digest),
      [D1],
    );
  });

  it('artifacts: artifactType, subject and annotations', () => {
    const artifact = image({
      artifactType: 'application/vnd.example.sbom.v1',
      config: { mediaType: MediaTypes.ociEmpty, digest: D1, size: 2 },
      subject: { mediaType: MediaTypes.ociManifest, digest: D2, size: 10 },
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
    });
    const info = parseManifest(enc(artifact), MediaTypes.ociManifest);
    assert.equal(info.artifactType, 'application/vnd.example.sbom.v1');
    assert.equal(referrerArtifactType(info), 'application/vnd.example.sbom.v1');
    assert.equal(info.subject?.digest, D2);
    assert.deepEqual(info.annotations, { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' });
    const indexArtifact = parseManifest(
      enc(index({ artifactType: 'application/vnd.example.bundle', subject: { mediaType: MediaTypes.ociManifest, digest: D1, size: 1 } })),
      MediaTypes.ociIndex,
    );
    assert.equal(referrerArtifactType(indexArtifact), 'application/vnd.example.bundle');
    assert.equal(indexArtifact.subject?.digest, D1);
    invalid(image({ artifactType: 7 }), MediaTypes.ociManifest, /artifactType must be a string/);
    invalid(image({ annotations: { a: 1 } }), MediaTypes.ociManifest, /annotations must map strings to strings/);
    invalid(image({ annotations: ['a'] }), MediaTypes.ociManifest, /annotations/);
    invalid(image({ subject: 'sha256:abc' }), MediaTypes.ociManifest, /subject must be a descriptor/);
  });
});

describe('manifest validation: descriptors', () => {
  it('requires config and a layers array in image manifests, a manifests array in indexes', () => {
    invalid(image({ config: undefined }), MediaTypes.ociManifest, /config must be a descriptor/);
    invalid(image({ config: [CONFIG] }), MediaTypes.ociManifest, /config must be a descriptor/);
    invalid(image({ layers: undefined }), MediaTypes.ociManifest, /layers array/);
    invalid(image({ layers: LAYER }), MediaTypes.ociManifest, /layers array/);
    invalid(index({ manifests: undefined }), MediaTypes.ociIndex, /manifests array/);
    invalid(index({ manifests: {} }), MediaTypes.ociIndex, /manifests array/);
  });

  it('names the bad field of a bad descriptor', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...LAYER, mediaType: '' }, /layers\[1\]\.mediaType/],
      [{ ...LAYER, mediaType: undefined }, /layers\[1\]\.mediaType/],
      [{ ...LAYER, digest: `sha256:${'A'.repeat(64)}` }, /layers\[1\]\.digest/],
      [{ ...LAYER, digest: `md5:${'a'.repeat(32)}` }, /layers\[1\]\.digest/],
      [{ ...LAYER, digest: undefined }, /layers\[1\]\.digest/],
      [{ ...LAYER, size: -1 }, /layers\[1\]\.size/],
      [{ ...LAYER, size: 1.5 }, /layers\[1\]\.size/],
      [{ ...LAYER, size: '10' }, /layers\[1\]\.size/],
      [{ ...LAYER, size: 2 ** 60 }, /layers\[1\]\.size/],
      [{ ...LAYER, annotations: { n: 1 } }, /layers\[1\]\.annotations/],
      [{ ...LAYER, urls: 'https://example.com/layer' }, /layers\[1\]\.urls/],
      [{ ...LAYER, urls: [1] }, /layers\[1\]\.urls/],
    ];
    for (const [descriptor, reason] of bad) invalid(image({ layers: [LAYER, descriptor] }), MediaTypes.ociManifest, reason);
    invalid(
      index({ manifests: [{ mediaType: MediaTypes.ociManifest, digest: 'nope', size: 1 }] }),
      MediaTypes.ociIndex,
      /manifests\[0\]\.digest/,
    );
    invalid(image({ config: { ...CONFIG, size: null } }), MediaTypes.ociManifest, /config\.size/);
  });

  it('keeps unknown descriptor fields and foreign layers with urls', () => {
    const foreign = { ...LAYER, urls: ['https://example.com/layer'], 'x-extra': true };
    const info = parseManifest(enc(image({ layers: [foreign] })), MediaTypes.ociManifest);
    assert.deepEqual(info.blobs[1], foreign);
  });
});
