import assert from 'node:assert/strict';
import type { RepositoryUsage } from '../../storage-capabilities.js';
import { adding, bytes, collect, digestOfBytes, entry, failingStream, storageTest, streamOf, tagsOf, uploadId } from '../fixtures.js';
import type { StorageFactory, TestFunctions } from '../types.js';

/**
 * The optional capabilities (storage-capabilities.ts): each case checks a capability when the
 * backend lists it in `capabilities`, and passes when it does not (core then uses its fallback).
 */
export function registerCapabilityCases(t: TestFunctions, factory: StorageFactory): void {
  const test = storageTest(t, factory);

  t.describe('optional capabilities', () => {
    test('a version commitUpload resolves to is what blobVersion answers for the new blob', async (storage) => {
      const data = bytes(5000);
      const digest = digestOfBytes(data);
      for (const repository of ['repo', 'other']) {
        const id = uploadId();
        await storage.createUpload(repository, id);
        await storage.appendUpload(repository, id, 0, streamOf(data));
        const version = await storage.commitUpload(repository, id, digest, data.length);
        if (typeof version !== 'string') continue; // optional: nothing claimed, nothing to check
        const versions = storage.capabilities?.blobVersions;
        assert.ok(versions, 'a backend that reports versions at commit has the blobVersions capability');
        assert.equal(await versions.blobVersion(repository, digest), version, repository);
      }
    });

    test('uploadDigest, when the backend tracks it, is the digest of the bytes appended so far', async (storage) => {
      const digests = storage.capabilities?.uploadDigests;
      if (!digests) return; // optional capability: core re-reads the data instead
      const id = uploadId();
      await storage.createUpload('repo', id);
      const data = bytes(200 * 1024 + 13);
      const check = async (size: number): Promise<void> => {
        for (const algorithm of ['sha256', 'sha512'] as const) {
          const tracked = await digests.uploadDigest('repo', id, algorithm);
          if (tracked)
            assert.deepEqual(tracked, { digest: digestOfBytes(data.subarray(0, size), algorithm), size }, `${algorithm} at ${size}`);
        }
      };
      await check(0);
      let size = 0;
      for (const end of [1, 4096, 4096, 70_000, data.length]) {
        size = await storage.appendUpload('repo', id, size, streamOf(data.subarray(size, end), 1000));
        await check(size);
      }
      const lost = bytes(10_000);
      await assert.rejects(storage.appendUpload('repo', id, size, failingStream(lost)));
      const kept = (await storage.statUpload('repo', id))!.size;
      const sent = Buffer.concat([data, lost]);
      const tracked = await digests.uploadDigest('repo', id, 'sha256');
      if (tracked) assert.deepEqual(tracked, { digest: digestOfBytes(sent.subarray(0, kept)), size: kept }, 'after a failed append');
      assert.equal(await digests.uploadDigest('repo', uploadId(), 'sha256'), undefined, 'no such session');
    });

    test('blobVersion, when provided, is stable while a blob is unchanged and changes when it is written again', async (storage) => {
      const versions = storage.capabilities?.blobVersions;
      if (!versions) return; // optional capability: core then hashes every full read
      const data = bytes(4096);
      const digest = digestOfBytes(data);
      assert.equal(await versions.blobVersion('repo', digest), undefined, 'absent blob');
      await storage.putBlob('repo', digest, data);
      const first = await versions.blobVersion('repo', digest);
      assert.ok(first, 'a stored blob has a version');
      assert.equal(await versions.blobVersion('repo', digest), first, 'stable');
      assert.equal(await storage.deleteBlob('repo', digest), true);
      assert.equal(await versions.blobVersion('repo', digest), undefined, 'deleted');
      await new Promise((resolve) => setTimeout(resolve, 20));
      await storage.putBlob('repo', digest, data);
      const second = await versions.blobVersion('repo', digest);
      assert.ok(second);
      assert.notEqual(second, first, 'a blob written again is a new version');
    });

    test('health.probe, when provided, resolves on a working storage and leaves nothing a listing shows', async (storage) => {
      const health = storage.capabilities?.health;
      if (!health) return; // optional capability: health then reads an index instead
      await health.probe();
      await Promise.all([health.probe(), health.probe()]); // several processes probe at once
      assert.deepEqual(await storage.listRepositories(), [], 'no repository made by probing');
      const data = bytes(100);
      await storage.putBlob('repo', digestOfBytes(data), data);
      await health.probe();
      assert.deepEqual(await storage.listRepositories(), ['repo']);
      assert.deepEqual(
        (await storage.listBlobs('repo')).map((b) => b.digest),
        [digestOfBytes(data)],
      );
      assert.deepEqual(await storage.listUploads('repo'), [], 'no session made by probing');
    });

    test('usage, when provided, counts what each repository stores and its open sessions', async (storage) => {
      const usage = storage.capabilities?.usage;
      if (!usage) return; // optional capability: the storage gauges are then not exported
      const total = (measured: RepositoryUsage | undefined): number =>
        [...(measured?.stored.values() ?? [])].reduce((sum, size) => sum + size, 0);
      assert.equal(await usage.repositoryUsage('missing/repo'), undefined, 'a repository that does not exist');
      const first = bytes(1000);
      await storage.putBlob('repo', digestOfBytes(first), first);
      const [open, committed] = [uploadId(), uploadId()];
      await storage.createUpload('repo', open);
      await storage.createUpload('repo', committed);
      const start = await usage.repositoryUsage('repo');
      assert.ok(start);
      assert.equal(start.uploadSessions, 2);
      assert.ok(total(start) >= first.length, `the blob is counted (${total(start)} bytes)`);

      const data = bytes(3000);
      await storage.appendUpload('repo', open, 0, streamOf(bytes(50_000)));
      await storage.appendUpload('repo', committed, 0, streamOf(data));
      assert.equal(total(await usage.repositoryUsage('repo')), total(start), 'upload data is not stored content yet');
      await storage.commitUpload('repo', committed, digestOfBytes(data), data.length);
      const after = await usage.repositoryUsage('repo');
      assert.equal(total(after), total(start) + data.length, 'a committed blob adds its size');
      assert.equal(after?.uploadSessions, 1);

      const nested = bytes(700);
      await storage.putBlob('repo/nested', digestOfBytes(nested), nested);
      assert.equal(total(await usage.repositoryUsage('repo')), total(after), 'a nested repository is counted apart');
      assert.ok(total(await usage.repositoryUsage('repo/nested')) >= nested.length);

      assert.equal(await storage.deleteBlob('repo', digestOfBytes(first)), true);
      assert.equal(await storage.deleteUpload('repo', open), true);
      const end = await usage.repositoryUsage('repo');
      assert.equal(total(end), total(after) - first.length, 'a deleted blob is no longer counted');
      assert.equal(end?.uploadSessions, 0);
    });

    test('leftovers.removeLeftovers, when provided, never removes a blob, an index or a session', async (storage) => {
      const leftovers = storage.capabilities?.leftovers;
      if (!leftovers) return; // optional capability: garbage collection then removes nothing more
      const data = bytes(2000);
      const digest = digestOfBytes(data);
      await storage.putBlob('repo', digest, data);
      await storage.updateIndex('repo', adding(entry(digest, 'v1')));
      assert.equal(await storage.mountBlob('repo', 'other', digest), true);
      const id = uploadId();
      const partial = bytes(1000);
      await storage.createUpload('repo', id);
      await storage.appendUpload('repo', id, 0, streamOf(partial));
      await assert.rejects(storage.appendUpload('repo', id, 1000, failingStream(bytes(500))));
      const kept = (await storage.statUpload('repo', id))!.size;

      // Everything is older than a date in the future: only what is truly left over may go.
      const removed = await leftovers.removeLeftovers(new Date(Date.now() + 60_000));
      assert.ok(Number.isInteger(removed) && removed >= 0, `resolves to a count (${removed})`);
      for (const repository of ['repo', 'other']) {
        assert.deepEqual(await collect((await storage.readBlob(repository, digest))!), data, `the blob of ${repository}`);
      }
      assert.deepEqual(tagsOf(await storage.readIndex('repo')), ['v1']);
      assert.equal((await storage.statUpload('repo', id))?.size, kept, 'the session');
      assert.deepEqual((await collect(await storage.readUpload('repo', id))).subarray(0, 1000), partial);
    });
  });
}
