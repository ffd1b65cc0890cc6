import assert from 'node:assert/strict';
import { RegistryError } from '../../errors.js';
import { UploadOffsetError } from '../../storage.js';
import { bytes, collect, digestOfBytes, failingStream, storageTest, streamOf, uploadId } from '../fixtures.js';
import type { StorageFactory, TestFunctions } from '../types.js';

/**
 * Upload sessions: appends at the right offset only, prefixes kept on failure, atomic commits of
 * verified sizes, sessions kept apart.
 */
export function registerUploadCases(t: TestFunctions, factory: StorageFactory): void {
  const test = storageTest(t, factory);

  t.describe('uploads', () => {
    test('a new session is empty and knows when it started', async (storage) => {
      const id = uploadId();
      const before = Date.now();
      await storage.createUpload('repo', id);
      const info = await storage.statUpload('repo', id);
      assert.ok(info);
      assert.equal(info.size, 0);
      assert.ok(info.startedAt instanceof Date);
      // Two seconds of slack for coarse filesystem and object-store timestamps.
      assert.ok(Math.abs(info.startedAt.getTime() - before) < 2000 + (Date.now() - before), 'startedAt is about now');
      assert.equal((await collect(await storage.readUpload('repo', id))).length, 0);
    });

    test('appendUpload appends at the session size and resolves to the new size', async (storage) => {
      const id = uploadId();
      await storage.createUpload('repo', id);
      const parts = [bytes(100 * 1024), bytes(1), bytes(0), bytes(300 * 1024 + 7)];
      let size = 0;
      for (const part of parts) {
        const resolved = await storage.appendUpload('repo', id, size, streamOf(part, 4096));
        size += part.length;
        assert.equal(resolved, size);
        assert.equal((await storage.statUpload('repo', id))?.size, size);
      }
      assert.deepEqual(await collect(await storage.readUpload('repo', id)), Buffer.concat(parts), 'readUpload returns exactly the bytes');
    });

    test('a wrong offset throws UploadOffsetError with the current size and writes nothing', async (storage) => {
      const id = uploadId();
      await storage.createUpload('repo', id);
      const start = bytes(10);
      await storage.appendUpload('repo', id, 0, streamOf(start));
      for (const offset of [0, 5, 9, 11, 1000]) {
        await assert.rejects(storage.appendUpload('repo', id, offset, streamOf(bytes(7))), (err: unknown) => {
          assert.ok(err instanceof UploadOffsetError, `offset ${offset}: expected UploadOffsetError, got ${String(err)}`);
          assert.equal(err.currentSize, 10);
          return true;
        });
      }
      assert.equal((await storage.statUpload('repo', id))?.size, 10);
      assert.deepEqual(await collect(await storage.readUpload('repo', id)), start);
      const rest = bytes(20);
      assert.equal(await storage.appendUpload('repo', id, 10, streamOf(rest)), 30, 'the right offset still works');
      assert.deepEqual(await collect(await storage.readUpload('repo', id)), Buffer.concat([start, rest]));
    });

    test('a stream failing mid-way leaves a readable prefix and the session goes on', async (storage) => {
      const id = uploadId();
      await storage.createUpload('repo', id);
      const head = bytes(1000);
      await storage.appendUpload('repo', id, 0, streamOf(head));
      const lost = bytes(64 * 1024);
      await assert.rejects(storage.appendUpload('repo', id, 1000, failingStream(lost)));
      const size = (await storage.statUpload('repo', id))?.size;
      assert.ok(size !== undefined && size >= 1000 && size <= 1000 + lost.length, `size ${String(size)} is a prefix`);
      const sent = Buffer.concat([head, lost]);
      assert.deepEqual(await collect(await storage.readUpload('repo', id)), sent.subarray(0, size), 'the size says what was kept');
      const tail = bytes(500);
      assert.equal(await storage.appendUpload('repo', id, size, streamOf(tail)), size + 500);
      assert.deepEqual(await collect(await storage.readUpload('repo', id)), Buffer.concat([sent.subarray(0, size), tail]));
    });

    test('commitUpload makes the exact bytes a blob and ends the session', async (storage) => {
      const id = uploadId();
      await storage.createUpload('repo', id);
      const data = bytes(300 * 1024 + 11);
      await storage.appendUpload('repo', id, 0, streamOf(data.subarray(0, 1234)));
      await storage.appendUpload('repo', id, 1234, streamOf(data.subarray(1234), 8192));
      const digest = digestOfBytes(data);
      assert.equal(await storage.statBlob('repo', digest), undefined, 'nothing is visible before the commit');
      await storage.commitUpload('repo', id, digest, data.length);
      assert.equal(await storage.statBlob('repo', digest), data.length);
      assert.deepEqual(await collect((await storage.readBlob('repo', digest))!), data);
      assert.equal(await storage.statUpload('repo', id), undefined, 'the session ended');
      assert.equal(await storage.deleteUpload('repo', id), false);
    });

    test('commitUpload commits nothing when the session is not the size that was verified', async (storage) => {
      const id = uploadId();
      await storage.createUpload('repo', id);
      const data = bytes(2000);
      await storage.appendUpload('repo', id, 0, streamOf(data));
      const verified = digestOfBytes(data.subarray(0, 1500));
      await assert.rejects(storage.commitUpload('repo', id, verified, 1500), (err: unknown) => {
        assert.ok(err instanceof RegistryError, String(err));
        assert.equal(err.code, 'BLOB_UPLOAD_INVALID');
        return true;
      });
      assert.equal(await storage.statBlob('repo', verified), undefined, 'no blob');
      assert.equal((await storage.statUpload('repo', id))?.size, 2000, 'the session is kept');
    });

    test('commitUpload works for sha512 digests, empty data and content already held', async (storage) => {
      const data = bytes(70_000);
      const cases: Array<[Buffer, string]> = [
        [data, digestOfBytes(data, 'sha512')],
        [bytes(0), digestOfBytes(bytes(0))],
        [data, digestOfBytes(data)],
        [data, digestOfBytes(data)], // the same blob a second time (two clients pushing one layer)
      ];
      for (const [content, digest] of cases) {
        const id = uploadId();
        await storage.createUpload('repo', id);
        await storage.appendUpload('repo', id, 0, streamOf(content));
        await storage.commitUpload('repo', id, digest, content.length);
        assert.equal(await storage.statBlob('repo', digest), content.length);
        assert.deepEqual(await collect((await storage.readBlob('repo', digest))!), content);
        assert.equal(await storage.statUpload('repo', id), undefined);
      }
    });

    test('sessions of one repository are independent', async (storage) => {
      const [idA, idB] = [uploadId(), uploadId()];
      await storage.createUpload('repo', idA);
      await storage.createUpload('repo', idB);
      const [a, b] = [bytes(3000), bytes(5000)];
      await Promise.all([
        storage.appendUpload('repo', idA, 0, streamOf(a.subarray(0, 1000), 100)),
        storage.appendUpload('repo', idB, 0, streamOf(b.subarray(0, 2500), 100)),
      ]);
      await Promise.all([
        storage.appendUpload('repo', idA, 1000, streamOf(a.subarray(1000), 100)),
        storage.appendUpload('repo', idB, 2500, streamOf(b.subarray(2500), 100)),
      ]);
      assert.deepEqual(await collect(await storage.readUpload('repo', idA)), a);
      assert.deepEqual(await collect(await storage.readUpload('repo', idB)), b);
      await storage.commitUpload('repo', idA, digestOfBytes(a), a.length);
      assert.equal((await storage.statUpload('repo', idB))?.size, 5000, 'committing one session leaves the other');
    });

    test('deleteUpload ends the session and discards its data', async (storage) => {
      const id = uploadId();
      await storage.createUpload('repo', id);
      const data = bytes(2048);
      await storage.appendUpload('repo', id, 0, streamOf(data));
      assert.equal(await storage.deleteUpload('repo', id), true);
      assert.equal(await storage.statUpload('repo', id), undefined);
      assert.equal(await storage.deleteUpload('repo', id), false);
      assert.equal(await storage.statBlob('repo', digestOfBytes(data)), undefined);
    });

    test("a repository's sessions are invisible from other repositories", async (storage) => {
      const id = uploadId();
      await storage.createUpload('mine', id);
      await storage.appendUpload('mine', id, 0, streamOf(bytes(10)));
      await storage.createUpload('theirs', uploadId());
      for (const other of ['theirs', 'nobody', 'mine/nested']) {
        assert.equal(await storage.statUpload(other, id), undefined, `statUpload from ${other}`);
        assert.equal(await storage.deleteUpload(other, id), false, `deleteUpload from ${other}`);
      }
      assert.equal((await storage.statUpload('mine', id))?.size, 10, 'still there');
    });
  });
}
