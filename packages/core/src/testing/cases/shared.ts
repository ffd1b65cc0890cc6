import assert from 'node:assert/strict';
import { RegistryError } from '../../errors.js';
import type { UploadDigests } from '../../storage-capabilities.js';
import { UploadOffsetError, type RegistryStorage } from '../../storage.js';
import { adding, bytes, collect, digestOfBytes, entry, gatedStream, pause, streamOf, tagsOf, uploadId, withStorage } from '../fixtures.js';
import type { KitSettings, StorageFactory, TestFunctions } from '../types.js';

/** Two instances over one storage (replicas, or a restart) see one state. */
export function registerSharedCases(t: TestFunctions, factory: StorageFactory, settings: KitSettings): void {
  const test = (name: string, work: (a: RegistryStorage, b: RegistryStorage) => Promise<void>): unknown =>
    t.it(name, () =>
      withStorage(factory, async ({ storage, openPeer }) => {
        assert.ok(openPeer, 'sharedStorage is set: the factory must return openPeer');
        await work(storage, await openPeer());
      }),
    );

  t.describe('shared storage (a second instance)', () => {
    test('sees the repositories, indexes and blobs of the first', async (a, b) => {
      const data = bytes(4096);
      const digest = digestOfBytes(data);
      await a.putBlob('shared/repo', digest, data);
      await a.updateIndex('shared/repo', adding(entry(digest, 'latest')));
      assert.deepEqual(await b.listRepositories(), ['shared/repo']);
      assert.deepEqual(tagsOf(await b.readIndex('shared/repo')), ['latest']);
      assert.equal(await b.statBlob('shared/repo', digest), 4096);
      assert.deepEqual(await collect((await b.readBlob('shared/repo', digest))!), data);
      assert.equal(await b.deleteBlob('shared/repo', digest), true);
      assert.equal(await a.statBlob('shared/repo', digest), undefined);
    });

    test('sees index changes of the other on its next read', async (a, b) => {
      for (let i = 0; i < 5; i++) {
        await a.readIndex('repo'); // let a cache whatever it caches
        await b.updateIndex('repo', adding(entry(digestOfBytes(Buffer.from(String(i))), `v${i}`)));
        assert.ok(tagsOf(await a.readIndex('repo')).includes(`v${i}`), `change ${i} seen by the other instance`);
      }
    });

    test('continues an upload session the other started', async (a, b) => {
      const id = uploadId();
      const data = bytes(50_000);
      await a.createUpload('repo', id);
      await a.appendUpload('repo', id, 0, streamOf(data.subarray(0, 20_000)));
      assert.equal((await b.statUpload('repo', id))?.size, 20_000);
      await assert.rejects(b.appendUpload('repo', id, 0, streamOf(bytes(5))), UploadOffsetError);
      assert.equal(await b.appendUpload('repo', id, 20_000, streamOf(data.subarray(20_000))), 50_000);
      assert.equal((await a.statUpload('repo', id))?.size, 50_000);
      assert.deepEqual(await collect(await a.readUpload('repo', id)), data);
      await b.commitUpload('repo', id, digestOfBytes(data), data.length);
      assert.deepEqual(await collect((await a.readBlob('repo', digestOfBytes(data)))!), data);
      assert.equal(await a.statUpload('repo', id), undefined);
    });

    test('uploadDigest, when tracked, covers the chunks both instances appended', async (a, b) => {
      const [digestsOfA, digestsOfB] = [a.capabilities?.uploadDigests, b.capabilities?.uploadDigests];
      if (!digestsOfA || !digestsOfB) return; // optional capability
      const id = uploadId();
      const data = bytes(90_000);
      await a.createUpload('repo', id);
      const ends = [10_000, 30_000, 31_000, 90_000];
      // Each instance appends in turn and the other reads the running digest.
      const turns: Array<[RegistryStorage, UploadDigests]> = [
        [a, digestsOfB],
        [b, digestsOfA],
      ];
      let size = 0;
      for (const [i, end] of ends.entries()) {
        const [writer, reader] = turns[i % 2]!;
        size = await writer.appendUpload('repo', id, size, streamOf(data.subarray(size, end), 4096));
        const tracked = await reader.uploadDigest('repo', id, 'sha256');
        if (tracked)
          assert.deepEqual(tracked, { digest: digestOfBytes(data.subarray(0, size)), size }, `after ${end} bytes, seen by the other`);
      }
      await b.commitUpload('repo', id, digestOfBytes(data), data.length);
      assert.equal(await digestsOfA.uploadDigest('repo', id, 'sha256'), undefined, 'the session ended');
    });

    test('appends to one session from both instances at once never interleave', async (a, b) => {
      const id = uploadId();
      await a.createUpload('repo', id);
      const [first, second] = [bytes(40_000), bytes(300)];
      const slow = gatedStream(first);
      const results = await Promise.allSettled([
        a.appendUpload('repo', id, 0, slow.stream),
        pause(50).then(() => b.appendUpload('repo', id, 0, streamOf(second))), // while the first is in progress
        pause(150).then(() => slow.open()),
      ]);
      const [outA, outB] = results;
      const won = [outA, outB].filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, `exactly one append is taken: ${results.map((r) => r.status).join(', ')}`);
      const lost = [outA, outB].find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.ok(lost.reason instanceof UploadOffsetError, `the other gets UploadOffsetError: ${String(lost.reason)}`);
      const kept = outA.status === 'fulfilled' ? first : second;
      assert.equal((await b.statUpload('repo', id))?.size, kept.length);
      assert.deepEqual(await collect(await a.readUpload('repo', id)), kept);
    });

    test('a commit while the other instance appends never makes a blob of unverified bytes', async (a, b) => {
      const id = uploadId();
      await a.createUpload('repo', id);
      const [verified, more] = [bytes(10_000), bytes(30_000)];
      await a.appendUpload('repo', id, 0, streamOf(verified));
      const digest = digestOfBytes(verified);
      const slow = gatedStream(more);
      const [append, commit] = await Promise.allSettled([
        a.appendUpload('repo', id, verified.length, slow.stream),
        pause(50).then(() => b.commitUpload('repo', id, digest, verified.length)),
        pause(150).then(() => slow.open()),
      ]);
      if (commit.status === 'fulfilled') {
        // The commit came first: the blob is what was verified, the late append finds no session.
        assert.deepEqual(await collect((await a.readBlob('repo', digest))!), verified);
        assert.equal(append.status, 'rejected', 'the append into a committed session fails');
        assert.deepEqual(await collect((await b.readBlob('repo', digest))!), verified, 'and changed nothing');
      } else {
        assert.ok(commit.reason instanceof RegistryError, String(commit.reason));
        assert.equal(commit.reason.code, 'BLOB_UPLOAD_INVALID');
        assert.equal(await a.statBlob('repo', digest), undefined, 'no blob');
        assert.equal(append.status, 'fulfilled', 'the append went on');
        assert.deepEqual(await collect(await b.readUpload('repo', id)), Buffer.concat([verified, more]));
      }
    });

    test('index updates from both instances never lose each other', async (a, b) => {
      const tags = Array.from({ length: settings.concurrency }, (_, i) => `tag-${String(i).padStart(3, '0')}`);
      await Promise.all(
        tags.map((tag, i) => (i % 2 === 0 ? a : b).updateIndex('racy', adding(entry(digestOfBytes(Buffer.from(tag)), tag)))),
      );
      assert.deepEqual(tagsOf(await a.readIndex('racy')), tags);
      assert.deepEqual(tagsOf(await b.readIndex('racy')), tags);
    });
  });
}
