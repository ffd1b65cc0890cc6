import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { OciLayoutStorage } from '../src/index.js';

const roots: string[] = [];
after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

async function freshStorage(dedupe = true): Promise<OciLayoutStorage> {
  const rootDirectory = await mkdtemp(join(tmpdir(), 'zot-dedupe-'));
  roots.push(rootDirectory);
  return new OciLayoutStorage({ rootDirectory, dedupe });
}

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function upload(storage: OciLayoutStorage, repository: string, data: Buffer): Promise<string> {
  const id = randomUUID();
  await storage.createUpload(repository, id);
  await storage.appendUpload(repository, id, 0, Readable.from([data]));
  await storage.commitUpload(repository, id, sha256(data), data.length);
  return sha256(data);
}

const inode = async (storage: OciLayoutStorage, repository: string, digest: string): Promise<number> =>
  (await stat(storage.paths.blob(repository, digest))).ino;

describe('OCI layout: deduplication with hard links', () => {
  it('one blob pushed to several repositories is one inode; each repository keeps a regular blob file', async () => {
    const storage = await freshStorage();
    const data = randomBytes(256 * 1024);
    const repos = ['one', 'two', 'team/three'];
    for (const repo of repos) await upload(storage, repo, data);
    const digest = sha256(data);
    const inodes = await Promise.all(repos.map((r) => inode(storage, r, digest)));
    assert.equal(new Set(inodes).size, 1, 'all repositories share the bytes');
    const info = await stat(storage.paths.blob('one', digest));
    assert.ok(info.isFile());
    assert.equal(info.nlink, repos.length + 1, 'one link per repository plus the store');
    assert.equal((await stat(storage.paths.storeBlob(digest))).ino, inodes[0]);
    for (const repo of repos) {
      assert.deepEqual(await readFile(storage.paths.blob(repo, digest)), data);
      assert.deepEqual(
        await readdir(join(storage.paths.repository(repo), '.uploads')).then((n) => n.filter((x) => !x.endsWith('.lock'))),
        [],
        'no upload or temp file left',
      );
    }
    assert.deepEqual((await storage.listRepositories()).sort(), ['one', 'team/three', 'two'], 'the store is not a repository');
  });

  it('manifests (putBlob) and mounts share the inode too; deleting from one repository leaves the others', async () => {
    const storage = await freshStorage();
    const manifest = Buffer.from('{"schemaVersion":2}');
    const digest = sha256(manifest);
    await storage.putBlob('a', digest, manifest);
    await storage.putBlob('b', digest, manifest);
    assert.equal(await storage.mountBlob('a', 'c', digest), true);
    assert.equal(new Set(await Promise.all(['a', 'b', 'c'].map((r) => inode(storage, r, digest)))).size, 1);
    assert.equal(await storage.deleteBlob('a', digest), true);
    assert.deepEqual(await readFile(storage.paths.blob('b', digest)), manifest);
    assert.equal(await storage.deleteBlob('b', digest), true);
    assert.equal(await storage.deleteBlob('c', digest), true);
    await assert.rejects(stat(storage.paths.storeBlob(digest)), { code: 'ENOENT' }, 'the store lets go once no repository holds it');
  });

  it('with dedupe off every repository has its own copy', async () => {
    const storage = await freshStorage(false);
    const data = randomBytes(4096);
    await upload(storage, 'one', data);
    await upload(storage, 'two', data);
    const digest = sha256(data);
    assert.notEqual(await inode(storage, 'one', digest), await inode(storage, 'two', digest));
    await assert.rejects(stat(storage.paths.storeBlob(digest)), { code: 'ENOENT' });
  });

  it('a damaged store copy (wrong size) is not handed out to the next push', async () => {
    const storage = await freshStorage();
    const data = randomBytes(10_000);
    const digest = await upload(storage, 'first', data);
    await storage.deleteBlob('first', digest);
    // A store entry left with other bytes (a crash, a disk error) and nobody linked to it.
    await writeFile(storage.paths.storeBlob(digest), data.subarray(0, 100));
    await upload(storage, 'second', data);
    assert.deepEqual(await readFile(storage.paths.blob('second', digest)), data);
  });

  it('linking an old blob into a repository makes it new there (the gc grace period starts again)', async () => {
    const storage = await freshStorage();
    const data = randomBytes(1000);
    const digest = await upload(storage, 'old', data);
    const longAgo = new Date(Date.now() - 86_400_000);
    await utimes(storage.paths.blob('old', digest), longAgo, longAgo);
    await upload(storage, 'new', data);
    const listed = (await storage.listBlobs('new'))[0]!;
    assert.ok(Date.now() - listed.modifiedAt.getTime() < 60_000, 'modifiedAt is now, not a day ago');
  });

  it('removeLeftovers removes old temp files and unused store entries, never sessions or young files', async () => {
    const storage = await freshStorage();
    const data = randomBytes(2048);
    const digest = await upload(storage, 'repo', data);
    const session = randomUUID();
    await storage.createUpload('repo', session);
    const uploads = join(storage.paths.repository('repo'), '.uploads');
    const old = new Date(Date.now() - 7_200_000);
    for (const name of ['.tmp-0123456789abcdef', '.mount-0123456789abcdef']) {
      await writeFile(join(uploads, name), 'partial');
      await utimes(join(uploads, name), old, old);
    }
    await writeFile(join(uploads, '.tmp-young'), 'in progress');
    await utimes(join(uploads, session), old, old);
    // A store entry nobody links to (the repository's copy was removed behind the store's back).
    const orphan = randomBytes(64);
    await upload(storage, 'gone', orphan);
    await rm(storage.paths.blob('gone', sha256(orphan)));
    await utimes(storage.paths.storeBlob(sha256(orphan)), old, old);

    const removed = await storage.removeLeftovers(new Date(Date.now() - 3_600_000));
    assert.equal(removed, 3);
    const left = (await readdir(uploads)).filter((n) => !n.endsWith('.lock')).sort();
    assert.deepEqual(left, ['.tmp-young', session].sort());
    await assert.rejects(stat(storage.paths.storeBlob(sha256(orphan))), { code: 'ENOENT' });
    assert.deepEqual(await readFile(storage.paths.blob('repo', digest)), data, 'blobs in use untouched');
    assert.ok(await stat(storage.paths.storeBlob(digest)));
  });
});

describe('OCI layout: the version commitUpload reports', () => {
  async function commit(storage: OciLayoutStorage, repository: string, data: Buffer): Promise<string | void> {
    const id = randomUUID();
    await storage.createUpload(repository, id);
    await storage.appendUpload(repository, id, 0, Readable.from([data]));
    return storage.commitUpload(repository, id, sha256(data), data.length);
  }

  it('is the new blob version when the session file became the blob', async () => {
    for (const dedupe of [false, true]) {
      const storage = await freshStorage(dedupe);
      const data = randomBytes(4096);
      const version = await commit(storage, 'repo', data);
      assert.equal(typeof version, 'string', `dedupe ${dedupe}`);
      assert.equal(version, await storage.blobVersion('repo', sha256(data)));
      // Pushed again to the same repository without dedupe: the new file replaces the old one.
      if (!dedupe) assert.equal(await commit(storage, 'repo', data), await storage.blobVersion('repo', sha256(data)));
    }
  });

  it('is nothing when dedupe linked a copy that was already stored (bytes this upload did not write)', async () => {
    const storage = await freshStorage(true);
    const data = randomBytes(4096);
    assert.equal(typeof (await commit(storage, 'one', data)), 'string');
    assert.equal(await commit(storage, 'two', data), undefined);
    assert.equal(await inode(storage, 'one', sha256(data)), await inode(storage, 'two', sha256(data)), 'the stored copy was linked');
  });
});
