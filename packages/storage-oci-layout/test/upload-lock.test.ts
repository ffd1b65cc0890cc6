/**
 * The lock folder an upload session holds while a request appends to it or commits it: what a
 * lock held elsewhere, and one left behind by a killed process, do to the session.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { RegistryError, UploadOffsetError } from '@zotjs/core';
import { OciLayoutStorage } from '../src/index.js';

const roots: string[] = [];
after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const HOUR = 3_600_000;

async function sessionWith(data: Buffer): Promise<{ storage: OciLayoutStorage; id: string }> {
  const rootDirectory = await mkdtemp(join(tmpdir(), 'zot-upload-lock-'));
  roots.push(rootDirectory);
  const storage = new OciLayoutStorage({ rootDirectory, durable: false });
  const id = randomUUID();
  await storage.createUpload('repo', id);
  await storage.appendUpload('repo', id, 0, Readable.from([data]));
  return { storage, id };
}

/** Makes the session's lock folder as another process would, `ageMs` after its last refresh. */
async function lockAsAnotherProcess(storage: OciLayoutStorage, id: string, ageMs: number): Promise<string> {
  const lock = storage.paths.uploadLock('repo', id);
  await mkdir(lock);
  const then = new Date(Date.now() - ageMs);
  await utimes(lock, then, then);
  return lock;
}

describe('OCI layout: upload session lock', () => {
  it('a session another process is writing refuses appends and commits at once, and keeps its data', async () => {
    const data = randomBytes(5000);
    const { storage, id } = await sessionWith(data);
    const lock = await lockAsAnotherProcess(storage, id, 0);
    await assert.rejects(storage.appendUpload('repo', id, 5000, Readable.from([randomBytes(10)])), (err: unknown) => {
      assert.ok(err instanceof UploadOffsetError, String(err));
      assert.equal(err.currentSize, 5000, 'reports the size it has');
      return true;
    });
    await assert.rejects(storage.commitUpload('repo', id, sha256(data), 5000), (err: unknown) => {
      assert.ok(err instanceof RegistryError, String(err));
      assert.equal(err.code, 'BLOB_UPLOAD_INVALID');
      return true;
    });
    assert.equal((await storage.statUpload('repo', id))?.size, 5000);
    assert.equal(await storage.statBlob('repo', sha256(data)), undefined);
    await rm(lock, { recursive: true });
    await storage.commitUpload('repo', id, sha256(data), 5000);
    assert.equal(await storage.statBlob('repo', sha256(data)), 5000, 'committed once the other is done');
  });

  it('a lock left by a killed process does not block the session', async () => {
    const data = randomBytes(3000);
    const { storage, id } = await sessionWith(data);
    await lockAsAnotherProcess(storage, id, 60_000);
    const more = randomBytes(1000);
    assert.equal(await storage.appendUpload('repo', id, 3000, Readable.from([more])), 4000);
    const all = Buffer.concat([data, more]);
    await storage.commitUpload('repo', id, sha256(all), all.length);
    assert.equal(await storage.statBlob('repo', sha256(all)), 4000);
    assert.deepEqual(await readdir(storage.paths.uploads('repo')), [], 'no lock folder is left');
  });

  it('removeLeftovers removes old lock folders, never young ones or sessions', async () => {
    const { storage, id } = await sessionWith(randomBytes(100));
    const old = await lockAsAnotherProcess(storage, randomUUID(), 2 * HOUR);
    const young = await lockAsAnotherProcess(storage, id, 0);
    const session = storage.paths.upload('repo', id);
    const longAgo = new Date(Date.now() - 2 * HOUR);
    await utimes(session, longAgo, longAgo);
    assert.equal(await storage.removeLeftovers(new Date(Date.now() - HOUR)), 1);
    await assert.rejects(stat(old), { code: 'ENOENT' });
    assert.ok((await stat(young)).isDirectory(), 'a lock that is still refreshed stays');
    assert.equal((await storage.statUpload('repo', id))?.size, 100, 'the session stays');
  });
});
