import assert from 'node:assert/strict';
import { RegistryError } from '../../errors.js';
import type { RepositoryIndex } from '../../storage.js';
import { adding, bytes, collect, digestOfBytes, entry, sorted, storageTest, tagsOf, uploadId } from '../fixtures.js';
import type { KitSettings, StorageFactory, TestFunctions } from '../types.js';

/** Not-found answers, repositories created on demand and kept apart, and atomic index updates. */
export function registerRepositoryCases(t: TestFunctions, factory: StorageFactory, settings: KitSettings): void {
  const test = storageTest(t, factory);

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
      for (const [i, index] of results.entries())
        assert.ok(tagsOf(index).includes(tags[i]!), `update ${i} resolved to an index with its tag`);
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
}
