/**
 * OCI distribution-spec conformance, Push workflow — a TypeScript port of the official suite
 * (github.com/opencontainers/distribution-spec/conformance), run against a real `zot-cli serve`.
 *
 * Mirrors:
 * - `conformance/02_push_test.go` (classic v1.1 suite, "Push": streamed, monolithic and chunked
 *   blob uploads, cross-repository mount including OCI_AUTOMATIC_CROSSMOUNT, manifest upload with
 *   and without layers, teardown), with the content of `setup.go`;
 * - the push side of the current suite (`run.go` TestBlobAPIs for sha256 and sha512: every
 *   upload API, mounts, cancel, well-known blobs and bad digests; TestPush of every data set;
 *   TestManifestErrors' invalid-digest-format PUT; `api.go`).
 * Spec sections: "Pushing blobs" (POST then PUT, monolithic POST, chunked, streamed),
 * "Mounting a blob from another repository", "Pushing Manifests", "Pushing Manifests with
 * Subject", end-4a/4b, end-5, end-6, end-7, end-11, end-13.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  EMPTY_LAYER_TEST_TAG,
  INVALID_MANIFEST_CONTENT,
  MEDIA,
  NONEXISTENT_MANIFEST,
  classicFixtures,
  classicSettings,
  deleteManifestBeforeBlobs,
  makeChunkedBlob,
} from './fixtures.js';
import { TestData, generateDataSets } from './datasets.js';
import {
  BlobApiRotation,
  CHUNK_MIN,
  blobGetExistsFull,
  blobHeadExists,
  blobMount,
  blobPatchChunked,
  blobPatchStream,
  blobPostCancel,
  blobPostOnly,
  blobPostPut,
  manifestGet,
  manifestPut,
  pushBlobAny,
  removeDataSet,
  testDeleteBlob,
  type Flags,
} from './operations.js';
import {
  RegistryUnsupported,
  SPEC_ERROR_CODES,
  absoluteLocation,
  checkOrSkip,
  describeReply,
  errorCodesOf,
  expectHeaderPresent,
  expectStatus,
  expectSuccessOr,
  openTarget,
  relativeLocation,
  short,
  type Algorithm,
  type Reply,
  type Target,
} from './support.js';

const fx = classicFixtures();
let target: Target;
let settings: ReturnType<typeof classicSettings>;

before(async () => {
  target = await openTarget('push');
  settings = classicSettings(target.ownServer);
});
after(async () => {
  await target?.stop();
});

const OCTETS = { 'Content-Type': 'application/octet-stream' };

describe('Push (02_push_test.go)', () => {
  let lastResponse: Reply | undefined;
  let prevResponse: Reply | undefined;
  let emptyLayerManifestRef = '';
  const ns = (): string => target.namespace;
  const uploads = (name = ns()): string => `/v2/${name}/blobs/uploads/`;
  const need = (reply: Reply | undefined): Reply => {
    assert.ok(reply, 'the previous step did not get a response');
    return reply;
  };

  describe('Blob Upload Streamed', () => {
    it('PATCH request with blob in body should yield 202 response', async () => {
      const post = await target.client.send('POST', uploads());
      expectHeaderPresent(post, 'location');
      const patch = await target.client.send('PATCH', relativeLocation(post), { headers: OCTETS, body: fx.testBlobA.content });
      expectStatus(patch, 202);
      lastResponse = patch;
    });

    it('PUT request to session URL with digest should yield 201 response', async () => {
      const put = await target.client.send('PUT', relativeLocation(need(lastResponse)), {
        query: { digest: fx.testBlobA.digest },
        headers: OCTETS,
      });
      expectStatus(put, 201);
      expectHeaderPresent(put, 'location');
    });
  });

  describe('Blob Upload Monolithic', () => {
    it('GET nonexistent blob should result in 404 response', async () => {
      expectStatus(await target.client.send('GET', `/v2/${ns()}/blobs/${fx.dummyDigest}`), 404);
    });

    it('POST request with digest and blob should yield a 201 or 202', async () => {
      const post = await target.client.send('POST', uploads(), {
        query: { digest: fx.configs[1]!.digest },
        headers: OCTETS,
        body: fx.configs[1]!.content,
      });
      expectHeaderPresent(post, 'location');
      expectStatus(post, 201, 202);
      lastResponse = post;
    });

    it('GET request to blob URL from prior request should yield 200 or 404 based on response code', async () => {
      const reply = await target.client.send('GET', `/v2/${ns()}/blobs/${fx.configs[1]!.digest}`);
      expectStatus(reply, need(lastResponse).status === 202 ? 404 : 200);
    });

    it('POST request should yield a session ID', async () => {
      const post = await target.client.send('POST', uploads());
      expectStatus(post, 202);
      lastResponse = post;
    });

    it('PUT upload of a blob should yield a 201 Response', async () => {
      const put = await target.client.send('PUT', relativeLocation(need(lastResponse)), {
        query: { digest: fx.configs[1]!.digest },
        headers: OCTETS,
        body: fx.configs[1]!.content,
      });
      expectHeaderPresent(put, 'location');
      expectStatus(put, 201);
    });

    it('GET request to existing blob should yield 200 response', async () => {
      expectStatus(await target.client.send('GET', `/v2/${ns()}/blobs/${fx.configs[1]!.digest}`), 200);
    });

    it('PUT upload of a layer blob should yield a 201 Response', async () => {
      const post = await target.client.send('POST', uploads());
      const put = await target.client.send('PUT', relativeLocation(post), {
        query: { digest: fx.layer.digest },
        headers: OCTETS,
        body: fx.layer.content,
      });
      expectHeaderPresent(put, 'location');
      expectStatus(put, 201);
    });

    it('GET request to existing layer should yield 200 response', async () => {
      expectStatus(await target.client.send('GET', `/v2/${ns()}/blobs/${fx.layer.digest}`), 200);
    });
  });

  describe('Blob Upload Chunked', () => {
    const chunk = (which: 1 | 2): { headers: Record<string, string>; body: Buffer } => ({
      headers: {
        ...OCTETS,
        'Content-Range': which === 1 ? fx.chunked.chunk1Range : fx.chunked.chunk2Range,
      },
      body: which === 1 ? fx.chunked.chunk1 : fx.chunked.chunk2,
    });

    it('Out-of-order blob upload should return 416', async () => {
      const post = await target.client.send('POST', uploads(), { headers: { 'Content-Length': '0' } });
      expectHeaderPresent(post, 'location');
      // Rebuild the chunked blob if the registry's minimum chunk is larger than ours.
      const minHeader = post.header('oci-chunk-min-length');
      if (minHeader) {
        const min = Number.parseInt(minHeader, 10);
        assert.ok(Number.isInteger(min), `OCI-Chunk-Min-Length is not a number: ${minHeader}`);
        if (min > fx.chunked.chunk1.length) fx.chunked = makeChunkedBlob(min * 2 - 2);
      }
      const patch = await target.client.send('PATCH', relativeLocation(post), chunk(2));
      expectStatus(patch, 416);
    });

    it('PATCH request with first chunk should return 202', async () => {
      const post = await target.client.send('POST', uploads(), { headers: { 'Content-Length': '0' } });
      expectHeaderPresent(post, 'location');
      prevResponse = post;
      const patch = await target.client.send('PATCH', relativeLocation(post), chunk(1));
      expectStatus(patch, 202);
      assert.equal(patch.header('range'), fx.chunked.chunk1Range);
      lastResponse = patch;
    });

    it('Retry previous blob chunk should return 416', async () => {
      const patch = await target.client.send('PATCH', relativeLocation(need(prevResponse)), chunk(1));
      expectStatus(patch, 416);
    });

    it('Get on stale blob upload should return 204 with a range and location', async () => {
      const reply = await target.client.send('GET', relativeLocation(need(prevResponse)));
      expectStatus(reply, 204);
      expectHeaderPresent(reply, 'location');
      assert.equal(reply.header('range'), fx.chunked.chunk1Range);
      lastResponse = reply;
    });

    it('PATCH request with second chunk should return 202', async () => {
      const patch = await target.client.send('PATCH', relativeLocation(need(lastResponse)), chunk(2));
      expectStatus(patch, 202);
      expectHeaderPresent(patch, 'location');
      lastResponse = patch;
    });

    it('PUT request with digest should return 201', async () => {
      const put = await target.client.send('PUT', relativeLocation(need(lastResponse)), {
        query: { digest: fx.chunked.digest },
        headers: OCTETS,
      });
      expectStatus(put, 201);
      expectHeaderPresent(put, 'location');
    });
  });

  describe('Cross-Repository Blob Mount', () => {
    it('Cross-mounting of a blob without the from argument should yield session id', async () => {
      const post = await target.client.send('POST', uploads(target.crossmountNamespace), { query: { mount: fx.dummyDigest } });
      expectStatus(post, 202);
      assert.ok(absoluteLocation(post), 'no Location');
    });

    it("POST request to mount another repository's blob should return 201 or 202", async () => {
      const post = await target.client.send('POST', uploads(target.crossmountNamespace), {
        query: { mount: fx.testBlobA.digest, from: ns() },
      });
      expectStatus(post, 201, 202);
      lastResponse = post;
    });

    it('GET request to test digest within cross-mount namespace should return 200', async (t) => {
      const last = need(lastResponse);
      if (last.status !== 201) return t.skip('the mount answered 202');
      assert.equal(relativeLocation(last), `/v2/${target.crossmountNamespace}/blobs/${fx.testBlobA.digest}`);
      expectStatus(await target.client.send('GET', relativeLocation(last)), 200);
    });

    it('Cross-mounting of nonexistent blob should yield session id', (t) => {
      const last = need(lastResponse);
      if (last.status !== 202) return t.skip('the mount answered 201');
      assert.ok(relativeLocation(last).startsWith(`/v2/${target.crossmountNamespace}/blobs/uploads/`), relativeLocation(last));
    });

    const automaticMount = async (t: { skip(m?: string): void }, enabled: boolean): Promise<void> => {
      if (!settings.runAutomaticCrossmountTest) return t.skip('OCI_AUTOMATIC_CROSSMOUNT is not set');
      if (need(lastResponse).status !== 201) return t.skip('the mount with from answered 202');
      if (settings.automaticCrossmountEnabled !== enabled)
        return t.skip(`OCI_AUTOMATIC_CROSSMOUNT says ${enabled ? 'disabled' : 'enabled'}`);
      const post = await target.client.send('POST', uploads(target.crossmountNamespace), { query: { mount: fx.testBlobA.digest } });
      expectStatus(post, enabled ? 201 : 202);
    };

    it('Cross-mounting without from, and automatic content discovery enabled should return a 201', (t) => automaticMount(t, true));
    it('Cross-mounting without from, and automatic content discovery disabled should return a 202', (t) => automaticMount(t, false));
  });

  describe('Manifest Upload', () => {
    it('GET nonexistent manifest should return 404', async () => {
      expectStatus(await target.client.send('GET', `/v2/${ns()}/manifests/${NONEXISTENT_MANIFEST}`), 404);
    });

    it('PUT should accept a manifest upload', async () => {
      for (let i = 0; i < 4; i++) {
        const put = await target.client.send('PUT', `/v2/${ns()}/manifests/test${i}`, {
          headers: { 'Content-Type': MEDIA.manifest },
          body: fx.manifests[1]!.content,
        });
        expectHeaderPresent(put, 'location');
        expectStatus(put, 201);
      }
    });

    it('Registry should accept a manifest upload with no layers', async (t) => {
      const put = await target.client.send('PUT', `/v2/${ns()}/manifests/${EMPTY_LAYER_TEST_TAG}`, {
        headers: { 'Content-Type': MEDIA.manifest },
        body: fx.emptyLayerManifest.content,
      });
      if (put.status === 201) {
        emptyLayerManifestRef = expectHeaderPresent(put, 'location');
      } else {
        // The suite only warns here.
        t.diagnostic(`WARNING: image manifest with no layers is not supported (status ${put.status})`);
      }
    });

    it('GET request to manifest URL (digest) should yield 200 response', async () => {
      const reply = await target.client.send('GET', `/v2/${ns()}/manifests/${fx.manifests[1]!.digest}`, {
        headers: { Accept: MEDIA.manifest },
      });
      expectStatus(reply, 200);
    });
  });

  describe('Teardown', () => {
    const deleteManifests = async (): Promise<void> => {
      expectSuccessOr(await target.client.send('DELETE', `/v2/${ns()}/manifests/${fx.manifests[1]!.digest}`), 405);
      if (emptyLayerManifestRef) {
        expectSuccessOr(await target.client.send('DELETE', `/v2/${ns()}/manifests/${fx.emptyLayerManifest.digest}`), 405);
      }
    };
    if (deleteManifestBeforeBlobs()) it('Delete manifest created in tests', deleteManifests);
    it('Delete config blob created in tests', async () => {
      expectSuccessOr(await target.client.send('DELETE', `/v2/${ns()}/blobs/${fx.configs[1]!.digest}`), 404, 405);
    });
    it('Delete layer blob created in setup', async () => {
      expectSuccessOr(await target.client.send('DELETE', `/v2/${ns()}/blobs/${fx.layer.digest}`), 404, 405);
    });
    if (!deleteManifestBeforeBlobs()) it('Delete manifest created in tests', deleteManifests);
  });
});

describe('Push (early suite: 07_error_codes_test.go)', () => {
  it('400 response body should contain OCI-conforming JSON message', async () => {
    // An unparseable manifest PUT under a malformed digest reference.
    const reply = await target.client.send('PUT', `/v2/${target.namespace}/manifests/sha256:totallywrong`, {
      headers: { 'Content-Type': MEDIA.manifest },
      body: INVALID_MANIFEST_CONTENT,
    });
    expectStatus(reply, 400);
    const codes = errorCodesOf(reply);
    assert.ok(codes.length > 0, describeReply(reply));
    assert.ok((SPEC_ERROR_CODES as readonly string[]).includes(codes[0]!), `unknown error code ${codes[0]}`);
  });
});

describe('Push (current suite: run.go / api.go)', () => {
  const rotation = new BlobApiRotation();
  const repo = (): string => target.repo1;
  const repo2 = (): string => target.repo2;

  for (const algorithm of ['sha256', 'sha512'] as Algorithm[]) {
    describe(`${algorithm} blobs`, () => {
      const td = new TestData(`blobs-${algorithm}`, `Blobs ${algorithm}`);
      const blob512 = (): string => td.genBlob({ blobSize: 512, algo: algorithm }).digest;
      const digests = new Map<string, string>();
      for (const name of [
        'post only',
        'post+put',
        'chunked single',
        'stream',
        'mount',
        'mount anonymous',
        'mount missing',
        'post cancel',
      ]) {
        digests.set(name, blob512());
      }
      let minChunkSize = CHUNK_MIN;

      it('get-missing: GET of a blob never pushed is 404', async () => {
        expectStatus(await target.client.send('GET', `/v2/${repo()}/blobs/${digests.get('post cancel')}`), 404);
      });

      type Api = { name: string; run: (digest: string) => Promise<void>; fresh?: boolean; otherRepo?: boolean };
      const bigBlob = (): string => td.genBlob({ blobSize: minChunkSize * 3 - 5, algo: algorithm }).digest;
      const apis: Api[] = [
        { name: 'post only', run: (d) => blobPostOnly(target.client, repo(), d, td) },
        { name: 'post+put', run: (d) => blobPostPut(target.client, repo(), d, td) },
        {
          name: 'chunked single',
          run: async (d) => {
            const min = await blobPatchChunked(target.client, repo(), d, td);
            const parsed = min ? Number.parseInt(min, 10) : NaN;
            if (Number.isInteger(parsed) && parsed > minChunkSize) minChunkSize = parsed;
          },
        },
        { name: 'stream', run: (d) => blobPatchStream(target.client, repo(), d, td) },
        {
          name: 'mount',
          otherRepo: true,
          run: async (d) => {
            await pushBlobAny(rotation, target.client, repo2(), d, td);
            await blobMount(target.client, repo(), repo2(), d, td);
          },
        },
        {
          name: 'mount anonymous',
          otherRepo: true,
          run: async (d) => {
            await pushBlobAny(rotation, target.client, repo2(), d, td);
            await blobMount(target.client, repo(), undefined, d, td);
          },
        },
        {
          name: 'mount missing',
          run: async (d) => {
            // The blob is not in repo2: the registry must not claim a mount (202, then PUT).
            try {
              await blobMount(target.client, repo(), repo2(), d, td);
            } catch (err) {
              if (err instanceof RegistryUnsupported) return;
              throw err;
            }
            assert.fail('blob mount of missing blob incorrectly succeeded');
          },
        },
        // The suite enables upload cancel in its 1.1+dev profile; zot-ts implements it, so it is checked.
        { name: 'post cancel', run: () => blobPostCancel(target.client, repo()) },
        { name: 'chunked multi', fresh: true, run: (d) => blobPatchChunked(target.client, repo(), d, td).then(() => undefined) },
        {
          name: 'chunked multi and put chunk',
          fresh: true,
          run: (d) => blobPatchChunked(target.client, repo(), d, td, new Set(['PutLastChunk'])).then(() => undefined),
        },
        {
          name: 'chunked out-of-order',
          fresh: true,
          run: (d) => blobPatchChunked(target.client, repo(), d, td, new Set(['OutOfOrderChunks'])).then(() => undefined),
        },
        {
          name: 'chunked out-of-order and put chunk',
          fresh: true,
          run: (d) => blobPatchChunked(target.client, repo(), d, td, new Set(['PutLastChunk', 'OutOfOrderChunks'])).then(() => undefined),
        },
      ];

      for (const api of apis) {
        describe(api.name, () => {
          let digest = '';
          let pushed = false;
          it('push', (t) =>
            checkOrSkip(t, async () => {
              // Multi-chunk blobs span three chunks of the (possibly raised) minimum chunk size.
              digest = api.fresh ? bigBlob() : digests.get(api.name)!;
              await api.run(digest);
              pushed = api.name !== 'post cancel';
            }));
          // The suite reads the blob back only after a push that fully passed (never after a cancel).
          if (api.name !== 'post cancel') {
            it('blob-head', (t) => (pushed ? blobHeadExists(target.client, repo(), digest, td) : t.skip('the push did not pass')));
            it('blob-get', (t) => (pushed ? blobGetExistsFull(target.client, repo(), digest, td) : t.skip('the push did not pass')));
          }
          it('blob-delete', (t) => checkOrSkip(t, () => testDeleteBlob(target.client, repo(), digest || digests.get(api.name)!)));
          if (api.otherRepo) it('blob-delete (repo2)', (t) => checkOrSkip(t, () => testDeleteBlob(target.client, repo2(), digest)));
        });
      }

      for (const [name, bytes] of [
        ['empty', Buffer.alloc(0)],
        ['emptyJSON', Buffer.from('{}')],
      ] as const) {
        describe(`well-known blob: ${name}`, () => {
          const digest = td.addBlob(bytes, { algo: algorithm });
          it('push', () => pushBlobAny(rotation, target.client, repo(), digest, td));
          it('blob-head', () => blobHeadExists(target.client, repo(), digest, td));
          it('blob-get', () => blobGetExistsFull(target.client, repo(), digest, td));
          it('blob-delete', (t) => checkOrSkip(t, () => testDeleteBlob(target.client, repo(), digest)));
        });
      }

      // The bytes sent are the blob plus "oh no": the registry must refuse the digest (400).
      const bad: Flags = new Set(['ExpectBadDigest']);
      const badTests: Array<[string, (d: string) => Promise<unknown>]> = [
        ['bad digest post only', (d) => blobPostOnly(target.client, repo(), d, td, bad)],
        ['bad digest post+put', (d) => blobPostPut(target.client, repo(), d, td, bad)],
        ['bad digest chunked', (d) => blobPatchChunked(target.client, repo(), d, td, bad)],
        [
          'bad digest chunked and put chunk',
          (d) => blobPatchChunked(target.client, repo(), d, td, new Set(['ExpectBadDigest', 'PutLastChunk'])),
        ],
        ['bad digest stream', (d) => blobPatchStream(target.client, repo(), d, td, bad)],
      ];
      for (const [name, run] of badTests) {
        it(name, (t) =>
          checkOrSkip(t, async () => {
            const digest = bigBlob();
            td.blobs.set(digest, Buffer.concat([td.blobs.get(digest)!, Buffer.from('oh no')]));
            await run(digest);
            // Nothing may have been stored under the digest.
            expectStatus(await target.client.send('HEAD', `/v2/${repo()}/blobs/${digest}`), 404);
          }),
        );
      }
    });
  }

  for (const td of generateDataSets()) {
    describe(`data: ${td.title}`, () => {
      for (const digest of td.blobs.keys()) {
        it(`blob push ${short(digest)}`, () => pushBlobAny(rotation, target.client, repo(), digest, td, td.pushFlags.get(digest)));
      }
      for (const digest of td.manOrder) {
        const flags = td.pushFlags.get(digest);
        const label = flags?.has('ExpectBadDigest') ? ' (bytes do not match: 400)' : '';
        it(`manifest-by-digest ${short(digest)}${label}`, () => manifestPut(target.client, repo(), digest, digest, td, flags));
      }
      for (const [tag, digest] of td.tags) {
        it(`manifest-by-tag ${tag}`, async () => {
          await manifestPut(target.client, repo(), tag, digest, td, td.pushFlags.get(digest));
          td.tagPushed.add(tag);
        });
      }
      it('teardown: remove the data set', () => removeDataSet(target.client, repo(), td));
    });
  }

  describe('invalid-digest-format', () => {
    const td = new TestData('invalid-manifest-digest', 'Invalid Manifest Digest');
    const manifestDigest = td.genManifestFull({ layerCount: 1 });
    it('setup: push the blobs', async () => {
      for (const digest of td.blobs.keys()) await pushBlobAny(rotation, target.client, repo(), digest, td);
    });
    it('manifest-put: PUT to sha256:baddigeststring is 400', () =>
      manifestPut(target.client, repo(), 'sha256:baddigeststring', manifestDigest, td, new Set(['ExpectBadDigest'])));
    it('manifest-get: GET sha256:baddigeststring is 404 or 400', async () => {
      expectStatus(await manifestGet(target.client, repo(), 'sha256:baddigeststring'), 404, 400);
    });
    it('teardown: remove the blobs', () => removeDataSet(target.client, repo(), td));
  });
});
