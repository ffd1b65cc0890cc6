import assert from 'node:assert/strict';
import { RegistryError } from '../errors.js';
import { UploadOffsetError, type RegistryStorage, type RepositoryIndex } from '../storage.js';
import {
  adding,
  bytes,
  collect,
  digestOfBytes,
  entry,
  eventually,
  failingStream,
  gatedStream,
  pause,
  sorted,
  streamOf,
  tagsOf,
  uploadId,
  withStorage,
} from './fixtures.js';
import type { StorageContractOptions, StorageFactory, TestFunctions } from './types.js';

type Settings = Required<Omit<StorageContractOptions, 'test'>>;

/** The storage-level contract: every method and every rule of storage.ts's doc comments. */
export function registerStorageCases(t: TestFunctions, factory: StorageFactory, settings: Settings): void {
  const test = (name: string, work: (storage: RegistryStorage) => Promise<void>): unknown =>
    t.it(name, () => withStorage(factory, ({ storage }) => work(storage)));

  t.describe('not found', () => {
    test('answers undefined or false on an empty storage, never throws', async (storage) => {
      const digest = digestOfBytes(bytes(8));
      assert.deepEqual(await storage.listRepositories(), []);
      assert.equal(await storage.readIndex('missing/repo'), undefined);
      assert.equal(await storage.statBlob('missing/repo', digest), undefined);
      assert.equal(await storage.readBlob('missing/repo', digest), undefined);
      assert.equal(await storage.deleteBlob('missing/repo', digest), false);
      assert.equal(await storage.mountBlob('missing/repo', 'other', digest), false);
      assert.equal(await storage.statUpload('missing/repo', uploadId()), undefined);
      assert.equal(await storage.deleteUpload('missing/repo', uploadId()), false);
    });

    test('answers undefined or false for what an existing repository does not hold', async (storage) => {
      const held = bytes(32);
      await storage.putBlob('repo', digestOfBytes(held), held);
      await storage.createUpload('repo', uploadId());
      const missing = digestOfBytes(bytes(8));
      assert.equal(await storage.statBlob('repo', missing), undefined);
      assert.equal(await storage.readBlob('repo', missing), undefined);
      assert.equal(await storage.readBlob('repo', missing, { range: { start: 0, end: 3 } }), undefined);
      assert.equal(await storage.deleteBlob('repo', missing), false);
      assert.equal(await storage.mountBlob('repo', 'other', missing), false);
      assert.equal(await storage.statUpload('repo', uploadId()), undefined);
      assert.equal(await storage.deleteUpload('repo', uploadId()), false);
    });
  });

  t.describe('repositories', () => {
    test('createUpload, putBlob and updateIndex create repositories with an empty index', async (storage) => {
      const blob = bytes(10);
      await storage.createUpload('by-upload', uploadId());
      await storage.putBlob('by-put', digestOfBytes(blob), blob);
      const created = await storage.updateIndex('by-index', () => undefined);
      assert.deepEqual(created.manifests, [], 'updateIndex on a new repository starts from an empty index');
      assert.equal(created.schemaVersion, 2);
      assert.deepEqual(sorted(await storage.listRepositories()), ['by-index', 'by-put', 'by-upload']);
      for (const name of ['by-index', 'by-put', 'by-upload']) {
        const index = await storage.readIndex(name);
        assert.ok(index, `readIndex(${name}) after the repository was created`);
        assert.equal(index.schemaVersion, 2);
        assert.deepEqual(index.manifests, []);
      }
    });

    test('nested names are separate repositories, listed by their full name', async (storage) => {
      const names = ['a/b', 'a/b/c', 'a/b/c/d-e_f.g__h', 'x.y/z--w'];
      const blobs = new Map(names.map((name) => [name, bytes(64)]));
      for (const name of names) {
        const blob = blobs.get(name)!;
        await storage.putBlob(name, digestOfBytes(blob), blob);
        await storage.updateIndex(name, adding(entry(digestOfBytes(blob), `tag-of-${name.replaceAll('/', '-')}`)));
      }
      assert.deepEqual(sorted(await storage.listRepositories()), sorted(names), 'no intermediate folders (such as "a") listed');
      for (const name of names) {
        assert.deepEqual(tagsOf(await storage.readIndex(name)), [`tag-of-${name.replaceAll('/', '-')}`]);
        for (const other of names) {
          const size = await storage.statBlob(name, digestOfBytes(blobs.get(other)!));
          assert.equal(size, other === name ? 64 : undefined, `blob of ${other} seen from ${name}`);
        }
      }
      assert.equal(await storage.readIndex('a'), undefined);
    });

    test('names shaped like storage paths are kept apart or refused with NAME_INVALID', async (storage) => {
      const parentBlob = bytes(100);
      const parentDigest = digestOfBytes(parentBlob);
      await storage.putBlob('x', parentDigest, parentBlob);
      await storage.updateIndex('x', adding(entry(parentDigest, 'parent')));
      const accepted: string[] = [];
      for (const child of ['x/blobs', 'x/blobs/sha256', 'x/index.json', 'x/oci-layout', 'x/uploads', 'x/tags', 'x/manifests']) {
        const blob = bytes(50);
        try {
          await storage.putBlob(child, digestOfBytes(blob), blob);
          await storage.updateIndex(child, adding(entry(digestOfBytes(blob), 'child')));
          await storage.createUpload(child, uploadId());
        } catch (err) {
          if (err instanceof RegistryError && err.code === 'NAME_INVALID') continue;
          throw err;
        }
        accepted.push(child);
        assert.equal(await storage.statBlob(child, digestOfBytes(blob)), 50);
        assert.equal(await storage.statBlob(child, parentDigest), undefined, `${child} must not see x's blobs`);
        assert.equal(await storage.statBlob('x', digestOfBytes(blob)), undefined, `x must not see ${child}'s blobs`);
        assert.deepEqual(tagsOf(await storage.readIndex(child)), ['child']);
      }
      assert.deepEqual(tagsOf(await storage.readIndex('x')), ['parent'], "x's index is untouched");
      assert.deepEqual(await collect((await storage.readBlob('x', parentDigest))!), parentBlob);
      assert.deepEqual(sorted(await storage.listRepositories()), sorted(['x', ...accepted]));
    });
  });

  t.describe('index', () => {
    test('readIndex returns what updateIndex stored, unknown fields included', async (storage) => {
      const digest = digestOfBytes(bytes(16));
      const stored: RepositoryIndex = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          entry(digest, 'v1', {
            artifactType: 'application/vnd.example.sbom',
            platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
            annotations: { 'org.example.note': 'kept' },
            'x-custom-field': { nested: [1, 2, 3] },
          }),
          entry(digest),
        ],
        annotations: { 'org.example.index': 'yes' },
        'x-index-extra': 'kept too',
      };
      const resolved = await storage.updateIndex('repo', () => stored);
      assert.deepEqual(resolved, stored, 'updateIndex resolves to the index now stored');
      assert.deepEqual(await storage.readIndex('repo'), stored);
    });

    test('each update receives the current index, and undefined means no change', async (storage) => {
      const seen: string[][] = [];
      for (const tag of ['one', 'two', 'three']) {
        await storage.updateIndex('repo', (current) => {
          seen.push(tagsOf(current));
          return adding(entry(digestOfBytes(Buffer.from(tag)), tag))(current);
        });
      }
      assert.deepEqual(seen.at(-1), ['one', 'two'], 'the last update saw the first two');
      const before = await storage.readIndex('repo');
      const unchanged = await storage.updateIndex('repo', () => undefined);
      assert.deepEqual(unchanged, before, 'an update returning undefined resolves to the current index');
      assert.deepEqual(await storage.readIndex('repo'), before);
    });

    test(`${settings.concurrency} concurrent updates, each adding one tag, all survive`, async (storage) => {
      let calls = 0;
      const tags = Array.from({ length: settings.concurrency }, (_, i) => `tag-${String(i).padStart(3, '0')}`);
      const results = await Promise.all(
        tags.map((tag) =>
          storage.updateIndex('racy', (current) => {
            calls += 1; // may be called again on a retry: the edit itself stays pure
            return adding(entry(digestOfBytes(Buffer.from(tag)), tag))(current);
          }),
        ),
      );
      assert.ok(calls >= tags.length);
      results.forEach((index, i) => assert.ok(tagsOf(index).includes(tags[i]!), `update ${i} resolved to an index with its tag`));
      assert.deepEqual(tagsOf(await storage.readIndex('racy')), tags);
    });

    test('updates of different repositories do not interfere', async (storage) => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          storage.updateIndex(`repo-${i % 4}`, adding(entry(digestOfBytes(Buffer.from(String(i))), `t${i}`))),
        ),
      );
      for (let r = 0; r < 4; r++) {
        const expected = Array.from({ length: 5 }, (_, k) => `t${r + 4 * k}`).sort();
        assert.deepEqual(tagsOf(await storage.readIndex(`repo-${r}`)), expected);
      }
    });
  });

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
      for (const [start, end] of [[0, 0], [0, 9], [10, 19], [last, last], [0, last], [65_535, 65_536], [100_000, 199_999]] as const) {
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
      assert.deepEqual((await storage.listBlobs('b')).map((b) => b.digest), [digest]);
      await storage.deleteBlob('a', digest);
      assert.deepEqual(await storage.listBlobs('a'), []);
      assert.deepEqual((await storage.listBlobs('b')).map((b) => b.digest), [digest]);
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
      assert.deepEqual(sorted(await storage.touchBlobs('missing/repo', [absent, digestOfBytes(held)])), sorted([absent, digestOfBytes(held)]));
      assert.deepEqual(await storage.listRepositories(), ['repo'], 'touching does not create repositories');
    });

    test('deleteBlob with unmodifiedSince deletes old blobs and keeps newer ones', async (storage) => {
      const data = bytes(100);
      const digest = digestOfBytes(data);
      await storage.putBlob('repo', digest, data);
      assert.equal(await storage.deleteBlob('repo', digest, { unmodifiedSince: new Date(Date.now() - 60_000) }), false, 'modified after the date: kept');
      assert.equal(await storage.statBlob('repo', digest), 100);
      assert.equal(await storage.deleteBlob('repo', digest, { unmodifiedSince: new Date(Date.now() + 60_000) }), true, 'older than the date: deleted');
      assert.equal(await storage.statBlob('repo', digest), undefined);
      assert.equal(await storage.deleteBlob('repo', digest, { unmodifiedSince: new Date(Date.now() + 60_000) }), false, 'nothing left to delete');
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

    test('a version commitUpload resolves to is what blobVersion answers for the new blob', async (storage) => {
      const data = bytes(5000);
      const digest = digestOfBytes(data);
      for (const repository of ['repo', 'other']) {
        const id = uploadId();
        await storage.createUpload(repository, id);
        await storage.appendUpload(repository, id, 0, streamOf(data));
        const version = await storage.commitUpload(repository, id, digest, data.length);
        if (typeof version !== 'string') continue; // optional: nothing claimed, nothing to check
        assert.ok(storage.blobVersion, 'a backend that reports versions at commit provides blobVersion');
        assert.equal(await storage.blobVersion(repository, digest), version, repository);
      }
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

    test('uploadDigest, when the backend tracks it, is the digest of the bytes appended so far', async (storage) => {
      if (!storage.uploadDigest) return; // optional capability: core re-reads the data instead
      const id = uploadId();
      await storage.createUpload('repo', id);
      const data = bytes(200 * 1024 + 13);
      const check = async (size: number): Promise<void> => {
        for (const algorithm of ['sha256', 'sha512'] as const) {
          const tracked = await storage.uploadDigest!('repo', id, algorithm);
          if (tracked) assert.deepEqual(tracked, { digest: digestOfBytes(data.subarray(0, size), algorithm), size }, `${algorithm} at ${size}`);
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
      const tracked = await storage.uploadDigest('repo', id, 'sha256');
      if (tracked) assert.deepEqual(tracked, { digest: digestOfBytes(sent.subarray(0, kept)), size: kept }, 'after a failed append');
      assert.equal(await storage.uploadDigest('repo', uploadId(), 'sha256'), undefined, 'no such session');
    });

    test('blobVersion, when provided, is stable while a blob is unchanged and changes when it is written again', async (storage) => {
      if (!storage.blobVersion) return; // optional capability: core then hashes every full read
      const data = bytes(4096);
      const digest = digestOfBytes(data);
      assert.equal(await storage.blobVersion('repo', digest), undefined, 'absent blob');
      await storage.putBlob('repo', digest, data);
      const first = await storage.blobVersion('repo', digest);
      assert.ok(first, 'a stored blob has a version');
      assert.equal(await storage.blobVersion('repo', digest), first, 'stable');
      assert.equal(await storage.deleteBlob('repo', digest), true);
      assert.equal(await storage.blobVersion('repo', digest), undefined, 'deleted');
      await new Promise((resolve) => setTimeout(resolve, 20));
      await storage.putBlob('repo', digest, data);
      const second = await storage.blobVersion('repo', digest);
      assert.ok(second);
      assert.notEqual(second, first, 'a blob written again is a new version');
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

  if (settings.sharedStorage) registerSharedCases(t, factory, settings);
}

/** Two instances over one storage (replicas, or a restart) see one state. */
function registerSharedCases(t: TestFunctions, factory: StorageFactory, settings: Settings): void {
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

    test("uploadDigest, when tracked, covers the chunks both instances appended", async (a, b) => {
      if (!a.uploadDigest || !b.uploadDigest) return; // optional capability
      const id = uploadId();
      const data = bytes(90_000);
      await a.createUpload('repo', id);
      const ends = [10_000, 30_000, 31_000, 90_000];
      let size = 0;
      for (const [i, end] of ends.entries()) {
        const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
        size = await writer.appendUpload('repo', id, size, streamOf(data.subarray(size, end), 4096));
        const tracked = await reader.uploadDigest!('repo', id, 'sha256');
        if (tracked) assert.deepEqual(tracked, { digest: digestOfBytes(data.subarray(0, size)), size }, `after ${end} bytes, seen by the other`);
      }
      await b.commitUpload('repo', id, digestOfBytes(data), data.length);
      assert.equal(await a.uploadDigest('repo', id, 'sha256'), undefined, 'the session ended');
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
