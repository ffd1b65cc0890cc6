/**
 * OCI distribution-spec conformance, Content Management workflow — a TypeScript port of the
 * official suite (github.com/opencontainers/distribution-spec/conformance), run against a real
 * `zot-cli serve`.
 *
 * Mirrors:
 * - `conformance/04_management_test.go` (classic v1.1 suite, "Content Management": delete a tag,
 *   delete a manifest by digest, the tag list reflecting it, delete blobs), with the content of
 *   `setup.go`;
 * - the delete side of the current suite (`run.go` TestDelete for every data set: tag delete,
 *   manifest delete and blob delete, each followed by the "atomic" check that a HEAD right after
 *   answers 404; `api.go` ManifestDelete and BlobDelete).
 * Spec sections: "Content Management", "Deleting tags", "Deleting Manifests", "Deleting Blobs",
 * end-9, end-10.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MEDIA, classicFixtures } from './fixtures.js';
import { generateDataSets } from './datasets.js';
import { BlobApiRotation, pushDataSet, testDeleteBlob, testDeleteManifest } from './operations.js';
import {
  checkOrSkip,
  describeReply,
  errorCodesOf,
  expectStatus,
  expectSuccessOr,
  openTarget,
  postThenPut,
  short,
  type Reply,
  type Target,
} from './support.js';

const fx = classicFixtures();
let target: Target;

before(async () => {
  target = await openTarget('management');
});
after(async () => {
  await target?.stop();
});

describe('Content Management (04_management_test.go)', () => {
  const defaultTagName = 'tagtest0';
  let tagToDelete = '';
  let numTags = 0;
  let blobDeleteAllowed = true;
  const ns = (): string => target.namespace;
  const tagsOf = (reply: Reply): string[] => {
    const body = reply.json<{ tags?: string[] | null }>();
    return body.tags ?? [];
  };

  describe('Setup', () => {
    it('Populate registry with test config blob', async () => {
      expectSuccessOr(await postThenPut(target.client, ns(), fx.configs[3]!));
    });

    it('Populate registry with test layer', async () => {
      expectSuccessOr(await postThenPut(target.client, ns(), fx.layer));
    });

    it('Populate registry with test tag', async () => {
      tagToDelete = defaultTagName;
      const reply = await target.client.send('PUT', `/v2/${ns()}/manifests/${tagToDelete}`, {
        headers: { 'Content-Type': MEDIA.manifest },
        body: fx.manifests[3]!.content,
      });
      expectSuccessOr(reply);
    });

    it('Check how many tags there are before anything gets deleted', async () => {
      const reply = await target.client.send('GET', `/v2/${ns()}/tags/list`);
      expectStatus(reply, 200);
      numTags = tagsOf(reply).length;
    });
  });

  describe('Manifest delete', () => {
    it('DELETE request to manifest tag should return 202, unless tag deletion is disallowed (400/405)', async () => {
      const reply = await target.client.send('DELETE', `/v2/${ns()}/manifests/${tagToDelete}`);
      expectStatus(reply, 400, 202, 405);
      if (reply.status === 400) {
        const codes = errorCodesOf(reply);
        assert.ok(codes.length > 0, describeReply(reply));
        assert.equal(codes[0], 'UNSUPPORTED');
      }
    });

    it('DELETE request to manifest (digest) should yield 202 response unless already deleted', async () => {
      // After the tag delete, this may or may not find the manifest (both are fine).
      expectStatus(await target.client.send('DELETE', `/v2/${ns()}/manifests/${fx.manifests[3]!.digest}`), 202, 404);
    });

    it('GET request to deleted manifest URL should yield 404 response, unless delete is disallowed', async () => {
      expectStatus(await target.client.send('GET', `/v2/${ns()}/manifests/${fx.manifests[3]!.digest}`), 404, 200);
    });

    it('GET request to tags list should reflect manifest deletion', async () => {
      const reply = await target.client.send('GET', `/v2/${ns()}/tags/list`);
      expectStatus(reply, 200);
      assert.ok(tagsOf(reply).length < numTags, `still ${tagsOf(reply).length} tags of ${numTags}: ${describeReply(reply)}`);
    });
  });

  describe('Blob delete', () => {
    it('DELETE request to blob URL should yield 202 response', async () => {
      expectStatus(await target.client.send('DELETE', `/v2/${ns()}/blobs/${fx.configs[3]!.digest}`), 202, 404, 405);
      const layer = await target.client.send('DELETE', `/v2/${ns()}/blobs/${fx.layer.digest}`);
      expectStatus(layer, 202, 404, 405);
      if (layer.status === 405) blobDeleteAllowed = false;
    });

    it('GET request to deleted blob URL should yield 404 response', async (t) => {
      if (!blobDeleteAllowed) return t.skip('the registry does not allow blob deletion (405)');
      expectStatus(await target.client.send('GET', `/v2/${ns()}/blobs/${fx.configs[3]!.digest}`), 404);
    });
  });
});

describe('Content Management (current suite: run.go / api.go)', () => {
  const rotation = new BlobApiRotation();
  const repo = (): string => target.repo1;

  for (const td of generateDataSets()) {
    describe(`data: ${td.title}`, () => {
      it('setup: push the data set', () => pushDataSet(rotation, target.client, repo(), td));
      for (const tag of td.tags.keys()) {
        it(`tag-delete ${tag} (then HEAD is 404)`, (t) => {
          if (!td.tagPushed.has(tag)) return t.skip('the tag was not pushed');
          return checkOrSkip(t, () => testDeleteManifest(target.client, repo(), tag));
        });
      }
      for (const digest of [...td.manOrder].reverse()) {
        it(`manifest-delete ${short(digest)} (then HEAD is 404)`, (t) =>
          checkOrSkip(t, () => testDeleteManifest(target.client, repo(), digest)));
      }
      for (const digest of td.blobs.keys()) {
        it(`blob-delete ${short(digest)} (then HEAD is 404)`, (t) => checkOrSkip(t, () => testDeleteBlob(target.client, repo(), digest)));
      }
    });
  }
});
