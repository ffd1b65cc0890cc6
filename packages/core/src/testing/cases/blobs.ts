import assert from 'node:assert/strict';
import { bytes, collect, digestOfBytes, eventually, sorted, storageTest, streamOf, uploadId } from '../fixtures.js';
import type { StorageFactory, TestFunctions } from '../types.js';

/**
 * Blobs: exact bytes, ranges, aborted reads, mounts, deletes, the listings garbage collection
 * walks, and the touch/conditional-delete rule that keeps its grace period safe.
 */
export function registerBlobCases(t: TestFunctions, factory: StorageFactory): void {
  const test = storageTest(t, factory);

  t.describe('blobs', () => {
    test('putBlob stores the exact bytes (sha256 and sha512, empty to multi-chunk)', async (storage) => {
      const blobs = [bytes(0), bytes(1), bytes(100 * 1024 + 3)];
      for (const data of blobs) {
        for (const algorithm of ['sha256', 'sha512'] as const) {
          const digest = digestOfBytes(data, algorithm);
          await storage.putBlob('repo', digest, data);
          assert.equal(await storage.statBlob('repo', digest), data.length);
          assert.deepEqual(await collect((await storage.readBlob('repo', digest))!), data);
        }
      }
      const again = blobs[2]!;
      await storage.putBlob('repo', digestOfBytes(again), again);
      assert.deepEqual(await collect((await storage.readBlob('repo', digestOfBytes(again)))!), again, 'putting a blob twice keeps it');
    });

    test('readBlob serves inclusive byte ranges', async (storage) => {
      const data = bytes(200_003);
      const digest = digestOfBytes(data);
      await storage.putBlob('repo', digest, data);
      const last = data.length - 1;
      for (const [start, end] of [
        [0, 0],
        [0, 9],
        [10, 19],
        [last, last],
        [0, last],
        [65_535, 65_536],
        [100_000, 199_999],
      ] as const) {
        const stream = await storage.readBlob('repo', digest, { range: { start, end } });
        assert.ok(stream, `range ${start}-${end}`);
        assert.deepEqual(await collect(stream), data.subarray(start, end + 1), `range ${start}-${end} (inclusive)`);
      }
    });

    test('an aborted read ends with an error, not as a complete blob', async (storage) => {
      const data = bytes(4 * 1024 * 1024);
      const digest = digestOfBytes(data);
      await storage.putBlob('repo', digest, data);
      const controller = new AbortController();
      const stream = await storage.readBlob('repo', digest, { signal: controller.signal });
      assert.ok(stream);
      const reader = stream[Symbol.asyncIterator]();
      const first = await reader.next();
      assert.equal(first.done, false);
      controller.abort();
      let failed = false;
      try {
        while (!(await reader.next()).done);
      } catch {
        failed = true;
      }
      assert.ok(failed, 'reading on after the abort must fail');
      assert.ok(await eventually(() => stream.destroyed), 'the stream is destroyed after the abort');
    });

    test('blobs belong to their repository until mounted elsewhere', async (storage) => {
      const data = bytes(1000);
      const digest = digestOfBytes(data);
      await storage.putBlob('source', digest, data);
      await storage.createUpload('target', uploadId());
      assert.equal(await storage.statBlob('target', digest), undefined);
      assert.equal(await storage.readBlob('target', digest), undefined);

      assert.equal(await storage.mountBlob('source', 'target', digest), true);
      assert.equal(await storage.statBlob('target', digest), 1000);
      assert.deepEqual(await collect((await storage.readBlob('target', digest))!), data);
      assert.equal(await storage.mountBlob('source', 'target', digest), true, 'mounting again is harmless');

      assert.equal(await storage.mountBlob('source', 'brand/new', digest), true, 'mounting into a repository that does not exist yet');
      assert.equal(await storage.statBlob('brand/new', digest), 1000);
      assert.equal(await storage.mountBlob('target', 'elsewhere', digestOfBytes(bytes(5))), false);
      assert.equal(await storage.statBlob('source', digest), 1000, 'the source keeps its blob');
    });

    test('deleteBlob removes the blob from one repository only', async (storage) => {
      const data = bytes(5000);
      const digest = digestOfBytes(data);
      await storage.putBlob('a', digest, data);
      assert.equal(await storage.mountBlob('a', 'b', digest), true);
      assert.equal(await storage.deleteBlob('a', digest), true);
      assert.equal(await storage.statBlob('a', digest), undefined);
      assert.equal(await storage.readBlob('a', digest), undefined);
      assert.equal(await storage.deleteBlob('a', digest), false, 'a second delete finds nothing');
      assert.equal(await storage.statBlob('b', digest), 5000, 'the mounted copy survives');
      assert.deepEqual(await collect((await storage.readBlob('b', digest))!), data);
      assert.equal(await storage.mountBlob('a', 'c', digest), false, 'a deleted blob can no longer be mounted from there');
    });
  });

  t.describe('listings for garbage collection', () => {
    test('listBlobs lists every blob of the repository with its size and a recent modification time', async (storage) => {
      const before = Date.now();
      const small = bytes(10);
      const large = bytes(70 * 1024);
      await storage.putBlob('repo', digestOfBytes(small), small);
      const id = uploadId();
      await storage.createUpload('repo', id);
      await storage.appendUpload('repo', id, 0, streamOf(large, 8192));
      await storage.commitUpload('repo', id, digestOfBytes(large), large.length);
      await storage.putBlob('other', digestOfBytes(bytes(3)), bytes(3));
      const listed = await storage.listBlobs('repo');
      assert.deepEqual(
        sorted(listed.map((b) => `${b.digest}=${b.size}`)),
        sorted([`${digestOfBytes(small)}=10`, `${digestOfBytes(large)}=${70 * 1024}`]),
      );
      for (const blob of listed) {
        assert.ok(blob.modifiedAt instanceof Date);
        assert.ok(blob.modifiedAt.getTime() > before - 2000 && blob.modifiedAt.getTime() < Date.now() + 2000, 'modifiedAt is about now');
      }
      assert.deepEqual(await storage.listBlobs('missing'), [], 'a missing repository lists nothing');
    });

    test('listBlobs reflects deletes and mounts', async (storage) => {
      const data = bytes(64);
      const digest = digestOfBytes(data);
      await storage.putBlob('a', digest, data);
      assert.equal(await storage.mountBlob('a', 'b', digest), true);
      assert.deepEqual(
        (await storage.listBlobs('b')).map((b) => b.digest),
        [digest],
      );
      await storage.deleteBlob('a', digest);
      assert.deepEqual(await storage.listBlobs('a'), []);
      assert.deepEqual(
        (await storage.listBlobs('b')).map((b) => b.digest),
        [digest],
      );
    });

    test('listUploads lists open sessions with their sizes, not committed or deleted ones', async (storage) => {
      const [open1, open2, committed, deleted] = [uploadId(), uploadId(), uploadId(), uploadId()];
      for (const id of [open1, open2, committed, deleted]) await storage.createUpload('repo', id);
      await storage.appendUpload('repo', open2, 0, streamOf(bytes(123), 50));
      const data = bytes(5);
      await storage.appendUpload('repo', committed, 0, streamOf(data, 5));
      await storage.commitUpload('repo', committed, digestOfBytes(data), data.length);
      await storage.deleteUpload('repo', deleted);
      const listed = await storage.listUploads('repo');
      assert.deepEqual(sorted(listed.map((u) => `${u.uploadId}=${u.size}`)), sorted([`${open1}=0`, `${open2}=123`]));
      assert.ok(listed.every((u) => u.startedAt instanceof Date));
      assert.deepEqual(await storage.listUploads('missing'), []);
    });
  });

  t.describe('touch and conditional delete (garbage collection safety)', () => {
    test('touchBlobs refreshes modifiedAt of held blobs and reports the missing ones', async (storage) => {
      const held = bytes(40);
      await storage.putBlob('repo', digestOfBytes(held), held);
      const absent = digestOfBytes(bytes(8));
      assert.deepEqual(await storage.touchBlobs('repo', []), []);
      const before = Date.now();
      assert.deepEqual(await storage.touchBlobs('repo', [digestOfBytes(held), absent]), [absent]);
      const listed = (await storage.listBlobs('repo')).find((b) => b.digest === digestOfBytes(held));
      assert.ok(listed && listed.modifiedAt.getTime() >= before - 2000, 'modifiedAt is about the time of the touch');
      assert.deepEqual(
        sorted(await storage.touchBlobs('missing/repo', [absent, digestOfBytes(held)])),
        sorted([absent, digestOfBytes(held)]),
      );
      assert.deepEqual(await storage.listRepositories(), ['repo'], 'touching does not create repositories');
    });

    test('deleteBlob with unmodifiedSince deletes old blobs and keeps newer ones', async (storage) => {
      const data = bytes(100);
      const digest = digestOfBytes(data);
      await storage.putBlob('repo', digest, data);
      assert.equal(
        await storage.deleteBlob('repo', digest, { unmodifiedSince: new Date(Date.now() - 60_000) }),
        false,
        'modified after the date: kept',
      );
      assert.equal(await storage.statBlob('repo', digest), 100);
      assert.equal(
        await storage.deleteBlob('repo', digest, { unmodifiedSince: new Date(Date.now() + 60_000) }),
        true,
        'older than the date: deleted',
      );
      assert.equal(await storage.statBlob('repo', digest), undefined);
      assert.equal(
        await storage.deleteBlob('repo', digest, { unmodifiedSince: new Date(Date.now() + 60_000) }),
        false,
        'nothing left to delete',
      );
      assert.equal(await storage.deleteBlob('missing/repo', digest, { unmodifiedSince: new Date() }), false);
    });

    test('putBlob, commitUpload and mountBlob of a blob already held make it new again', async (storage) => {
      const data = bytes(300);
      const digest = digestOfBytes(data);
      await storage.putBlob('a', digest, data);
      await storage.putBlob('b', digest, data);
      const cutoff = new Date(Date.now() + 60_000);
      // Each write below must move modifiedAt past `recent`, so a conditional delete with it keeps the blob.
      const recent = new Date(Date.now() - 60_000);
      await storage.putBlob('a', digest, data);
      assert.equal(await storage.deleteBlob('a', digest, { unmodifiedSince: recent }), false, 'putBlob again');
      const id = uploadId();
      await storage.createUpload('a', id);
      await storage.appendUpload('a', id, 0, streamOf(data));
      await storage.commitUpload('a', id, digest, data.length);
      assert.equal(await storage.deleteBlob('a', digest, { unmodifiedSince: recent }), false, 'commitUpload again');
      assert.equal(await storage.mountBlob('b', 'c', digest), true);
      assert.equal(await storage.deleteBlob('c', digest, { unmodifiedSince: recent }), false, 'freshly mounted');
      assert.equal(await storage.deleteBlob('a', digest, { unmodifiedSince: cutoff }), true);
      assert.deepEqual(await collect((await storage.readBlob('b', digest))!), data, 'the other repositories keep their copy');
      assert.deepEqual(await collect((await storage.readBlob('c', digest))!), data);
    });

    test('a touch and a conditional delete never interleave: a blob reported present stays', async (storage) => {
      const blobs = Array.from({ length: 24 }, () => bytes(64));
      for (const blob of blobs) await storage.putBlob('race', digestOfBytes(blob), blob);
      // Every blob is older than the cutoff; a touch after it makes a blob newer (one second of
      // slack for backends with coarse timestamps).
      const cutoff = new Date(Date.now() + 200);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const outcomes = await Promise.all(
        blobs.map(async (blob, i) => {
          const digest = digestOfBytes(blob);
          const touch = (): Promise<string[]> => storage.touchBlobs('race', [digest]);
          const remove = (): Promise<boolean> => storage.deleteBlob('race', digest, { unmodifiedSince: cutoff });
          // Started in both orders, so either may reach the backend first.
          let pending: [Promise<string[]>, Promise<boolean>];
          if (i % 2 === 0) {
            const touched = touch();
            pending = [touched, remove()];
          } else {
            const removed = remove();
            pending = [touch(), removed];
          }
          const [missing, deleted] = await Promise.all(pending);
          return { digest, touched: missing.length === 0, deleted, held: (await storage.statBlob('race', digest)) !== undefined };
        }),
      );
      for (const o of outcomes) {
        assert.ok(!(o.touched && !o.held), `${o.digest}: the touch reported it present, yet it was deleted`);
        assert.equal(o.deleted, !o.held, `${o.digest}: deleteBlob's answer matches what is left`);
      }
    });
  });
}
