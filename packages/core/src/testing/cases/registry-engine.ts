import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { RegistryError, type ErrorCode } from '../../errors.js';
import { createRegistryHandler } from '../../http/handler.js';
import type { HandledResponse } from '../../http/types.js';
import { MediaTypes } from '../../media-types.js';
import { Registry } from '../../registry.js';
import type { RegistryStorage } from '../../storage.js';
import { bytes, collect, digestOfBytes, streamOf, withStorage } from '../fixtures.js';
import type { KitSettings, StorageFactory, TestFunctions } from '../types.js';

interface PushedBlob {
  digest: string;
  size: number;
  data: Buffer;
}

/** The engine-level part: core's Registry (and its HTTP handler) running over the backend. */
export function registerRegistryCases(t: TestFunctions, factory: StorageFactory, settings: KitSettings): void {
  const test = (name: string, work: (registry: Registry, storage: RegistryStorage) => Promise<void>): unknown =>
    t.it(name, () => withStorage(factory, ({ storage }) => work(new Registry({ storage }), storage)));

  t.describe('through the registry engine', () => {
    test('pushes a blob in one request and pulls it whole and by range', async (registry) => {
      const data = bytes(150_000);
      const digest = digestOfBytes(data);
      assert.deepEqual(await registry.pushBlob('engine/blob', digest, streamOf(data), data.length), { digest, size: data.length });
      assert.deepEqual(await registry.statBlob('engine/blob', digest), { digest, size: data.length });
      assert.deepEqual(await collect((await registry.readBlob('engine/blob', digest)).stream), data);
      const ranged = await registry.readBlob('engine/blob', digest, { start: 1000, end: 1999 });
      assert.deepEqual(ranged.range, { start: 1000, end: 1999 });
      assert.deepEqual(await collect(ranged.stream), data.subarray(1000, 2000));
    });

    test('chunked upload, finished by a registry that never saw the session (re-hashes the stored data)', async (registry, storage) => {
      const data = bytes(400_000);
      const digest = digestOfBytes(data);
      const { uploadId } = await registry.startUpload('engine/chunked');
      await registry.appendChunk('engine/chunked', uploadId, streamOf(data.subarray(0, 100_000)), {
        range: { start: 0, end: 99_999 },
        length: 100_000,
      });
      await expectCode(
        registry.appendChunk('engine/chunked', uploadId, streamOf(bytes(10)), { range: { start: 0, end: 9 } }),
        'BLOB_UPLOAD_INVALID',
        416,
      );
      const other = new Registry({ storage });
      assert.equal((await other.uploadStatus('engine/chunked', uploadId)).size, 100_000);
      await other.appendChunk('engine/chunked', uploadId, streamOf(data.subarray(100_000, 250_000)));
      assert.deepEqual(
        await other.completeUpload('engine/chunked', uploadId, digest, streamOf(data.subarray(250_000)), {
          range: { start: 250_000, end: data.length - 1 },
        }),
        { digest, size: data.length },
      );
      assert.deepEqual(await collect((await registry.readBlob('engine/chunked', digest)).stream), data);
      await expectCode(registry.uploadStatus('engine/chunked', uploadId), 'BLOB_UPLOAD_UNKNOWN', 404);
    });

    test('a digest mismatch stores nothing; sha512 uploads verify too', async (registry) => {
      const data = bytes(10_000);
      const { uploadId } = await registry.startUpload('engine/verify');
      await registry.appendChunk('engine/verify', uploadId, streamOf(data));
      const wrong = digestOfBytes(bytes(10));
      await expectCode(registry.completeUpload('engine/verify', uploadId, wrong), 'DIGEST_INVALID', 400);
      await expectCode(registry.statBlob('engine/verify', wrong), 'BLOB_UNKNOWN', 404);
      await expectCode(registry.statBlob('engine/verify', digestOfBytes(data)), 'BLOB_UNKNOWN', 404);

      const sha512 = digestOfBytes(data, 'sha512');
      assert.equal((await registry.completeUpload('engine/verify', uploadId, sha512)).digest, sha512);
      assert.deepEqual(await collect((await registry.readBlob('engine/verify', sha512)).stream), data);
      await expectCode(registry.pushBlob('engine/verify', digestOfBytes(bytes(3)), streamOf(bytes(3))), 'DIGEST_INVALID', 400);
    });

    test('manifests by tag and digest, byte for byte, tags, referrers and deletes', async (registry, storage) => {
      const repo = 'engine/images';
      const config = await pushBlob(registry, repo, Buffer.from('{"architecture":"amd64","os":"linux"}'));
      const layer = await pushBlob(registry, repo, bytes(33_000));
      // Odd spacing and key order on purpose: the bytes must come back exactly as pushed.
      const manifest = Buffer.from(
        `{ "schemaVersion": 2,\n "mediaType": "${MediaTypes.ociManifest}",  "config": ${descriptorJson(config, 'application/vnd.oci.image.config.v1+json')},` +
          ` "layers": [ ${descriptorJson(layer, 'application/vnd.oci.image.layer.v1.tar+gzip')} ] }\n`,
      );
      const pushed = await registry.putManifest(repo, 'v1', manifest, MediaTypes.ociManifest);
      assert.equal(pushed.digest, digestOfBytes(manifest));
      await registry.putManifest(repo, 'latest', manifest, MediaTypes.ociManifest);

      const fresh = new Registry({ storage }); // no caches: everything comes from the backend
      for (const reader of [registry, fresh]) {
        for (const reference of ['v1', 'latest', pushed.digest]) {
          const got = await reader.getManifest(repo, reference);
          assert.deepEqual(got.bytes, manifest, `manifest by ${reference}`);
          assert.equal(got.mediaType, MediaTypes.ociManifest);
          assert.equal(got.digest, pushed.digest);
        }
      }
      assert.deepEqual((await fresh.listTags(repo)).items, ['latest', 'v1']);
      assert.deepEqual(await fresh.listTags(repo, { n: 1 }), { items: ['latest'], next: 'latest' });

      const signature = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          artifactType: 'application/vnd.example.signature',
          config: { mediaType: MediaTypes.ociEmpty, digest: digestOfBytes(Buffer.from('{}')), size: 2 },
          layers: [],
          subject: { mediaType: MediaTypes.ociManifest, digest: pushed.digest, size: manifest.length },
          annotations: { 'org.example.signed-by': 'contract-test' },
        }),
      );
      await pushBlob(registry, repo, Buffer.from('{}'));
      const referrer = await registry.putManifest(repo, digestOfBytes(signature), signature, MediaTypes.ociManifest);
      assert.equal(referrer.subject, pushed.digest);
      const referrers = await new Registry({ storage }).listReferrers(repo, pushed.digest);
      assert.deepEqual(referrers, [
        {
          mediaType: MediaTypes.ociManifest,
          digest: referrer.digest,
          size: signature.length,
          artifactType: 'application/vnd.example.signature',
          annotations: { 'org.example.signed-by': 'contract-test' },
        },
      ]);

      await registry.deleteManifest(repo, 'latest');
      await expectCode(fresh.getManifest(repo, 'latest'), 'MANIFEST_UNKNOWN', 404);
      assert.deepEqual((await fresh.getManifest(repo, 'v1')).bytes, manifest, 'deleting a tag keeps the manifest');
      await registry.deleteManifest(repo, pushed.digest);
      await expectCode(fresh.getManifest(repo, 'v1'), 'MANIFEST_UNKNOWN', 404);
      await expectCode(fresh.getManifest(repo, pushed.digest), 'MANIFEST_UNKNOWN', 404);
      assert.deepEqual((await fresh.listTags(repo)).items, []);

      await registry.deleteBlob(repo, layer.digest);
      await expectCode(registry.statBlob(repo, layer.digest), 'BLOB_UNKNOWN', 404);
      await expectCode(registry.deleteBlob(repo, layer.digest), 'BLOB_UNKNOWN', 404);
    });

    test('mounts blobs across repositories and lists nested repositories', async (registry) => {
      const layer = await pushBlob(registry, 'team/app/base', bytes(20_000));
      assert.equal(await registry.mountBlob('team/app', 'team/app/base', layer.digest), true);
      assert.equal(await registry.mountBlob('team/other', 'team/nowhere', layer.digest), false);
      assert.deepEqual(await collect((await registry.readBlob('team/app', layer.digest)).stream), layer.data);
      await registry.startUpload('solo');
      const catalog = await registry.listRepositories();
      for (const name of ['solo', 'team/app', 'team/app/base']) assert.ok(catalog.items.includes(name), `catalog lists ${name}`);
      assert.ok(!catalog.items.includes('team'), 'no intermediate name is listed');
    });

    test('serves the HTTP API end to end', async (registry) => {
      const handle = createRegistryHandler({ registry });
      const call = (method: string, url: string, body?: Buffer, headers: Record<string, string> = {}): Promise<HandledResponse> => {
        const parsed = new URL(url, 'http://registry.test');
        return handle({
          method,
          path: parsed.pathname,
          query: parsed.searchParams,
          headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...headers },
          ...(body ? { body: Readable.from([body]) } : {}),
        });
      };
      const data = bytes(70_000);
      const digest = digestOfBytes(data);
      const started = await call('POST', '/v2/http/repo/blobs/uploads/');
      assert.equal(started.status, 202);
      const location = started.headers['Location']!;
      const patched = await call('PATCH', location, data.subarray(0, 30_000), { 'content-range': '0-29999' });
      assert.equal(patched.status, 202);
      assert.equal(patched.headers['Range'], '0-29999');
      const done = await call('PUT', `${location}?digest=${digest}`, data.subarray(30_000), {
        'content-range': `30000-${data.length - 1}`,
      });
      assert.equal(done.status, 201);
      const got = await call('GET', `/v2/http/repo/blobs/${digest}`, undefined, { range: 'bytes=100-199' });
      assert.equal(got.status, 206);
      assert.deepEqual(await bodyOf(got), data.subarray(100, 200));

      const config = Buffer.from('{}');
      assert.equal((await call('POST', `/v2/http/repo/blobs/uploads/?digest=${digestOfBytes(config)}`, config)).status, 201);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          config: { mediaType: MediaTypes.ociEmpty, digest: digestOfBytes(config), size: 2 },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: data.length }],
        }),
      );
      const put = await call('PUT', '/v2/http/repo/manifests/v1', manifest, { 'content-type': MediaTypes.ociManifest });
      assert.equal(put.status, 201);
      assert.equal(put.headers['Docker-Content-Digest'], digestOfBytes(manifest));
      const pulled = await call('GET', '/v2/http/repo/manifests/v1');
      assert.equal(pulled.status, 200);
      assert.equal(pulled.headers['Content-Type'], MediaTypes.ociManifest);
      assert.deepEqual(await bodyOf(pulled), manifest);
      const tags = await call('GET', '/v2/http/repo/tags/list');
      assert.deepEqual(JSON.parse((await bodyOf(tags)).toString()), { name: 'http/repo', tags: ['v1'] });
    });
  });

  if (settings.sharedStorage) {
    t.describe('through two registry engines over two instances', () => {
      t.it('a push through one is pulled through the other, sessions included', () =>
        withStorage(factory, async ({ storage, openPeer }) => {
          assert.ok(openPeer, 'sharedStorage is set: the factory must return openPeer');
          const a = new Registry({ storage });
          const b = new Registry({ storage: await openPeer() });
          const data = bytes(120_000);
          const digest = digestOfBytes(data);
          const { uploadId } = await a.startUpload('replicated');
          await a.appendChunk('replicated', uploadId, streamOf(data.subarray(0, 60_000)));
          await b.completeUpload('replicated', uploadId, digest, streamOf(data.subarray(60_000)));
          assert.deepEqual(await collect((await a.readBlob('replicated', digest)).stream), data);
          const manifest = Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: MediaTypes.ociManifest,
              config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: data.length },
              layers: [],
            }),
          );
          await a.putManifest('replicated', 'v1', manifest, MediaTypes.ociManifest);
          assert.deepEqual((await b.getManifest('replicated', 'v1')).bytes, manifest);
          await b.deleteManifest('replicated', 'v1');
          await expectCode(a.getManifest('replicated', 'v1'), 'MANIFEST_UNKNOWN', 404);
        }),
      );
    });
  }
}

async function pushBlob(registry: Registry, repository: string, data: Buffer): Promise<PushedBlob> {
  const digest = digestOfBytes(data);
  await registry.pushBlob(repository, digest, streamOf(data), data.length);
  return { digest, size: data.length, data };
}

function descriptorJson(blob: PushedBlob, mediaType: string): string {
  return JSON.stringify({ mediaType, digest: blob.digest, size: blob.size });
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode, status: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof RegistryError, `expected RegistryError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return true;
  });
}

async function bodyOf(response: HandledResponse): Promise<Buffer> {
  if (response.body === undefined) return Buffer.alloc(0);
  return response.body instanceof Readable ? collect(response.body) : Buffer.from(response.body);
}
