import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { fstat, openSync } from 'node:fs';
import { mkdtemp, open, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { OciLayoutStorage } from '../src/index.js';
import { FileReadStream } from '../src/file-read-stream.js';
import { FileAppendStream } from '../src/file-append-stream.js';
import { pipeline } from 'node:stream/promises';
import { readFile } from 'node:fs/promises';

const roots: string[] = [];
after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zot-reads-'));
  roots.push(dir);
  return dir;
}

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const isClosed = (fd: number): Promise<boolean> => new Promise((resolve) => fstat(fd, (err) => resolve(err?.code === 'EBADF')));

describe('OCI layout: FileReadStream (read-ahead blob reads)', () => {
  const MiB = 1024 * 1024;

  it('reads whole files and inclusive ranges of every size around its chunk size, then closes the file', async () => {
    const dir = await tempDir();
    for (const size of [1, 1000, MiB - 1, MiB, MiB + 1, 3 * MiB + 7]) {
      const data = randomBytes(size);
      const file = join(dir, `f${size}`);
      await writeFile(file, data);
      const fd = openSync(file, 'r');
      assert.deepEqual(await collect(new FileReadStream(fd, 0, size - 1)), data, `whole file of ${size}`);
      assert.equal(await isClosed(fd), true, 'descriptor closed at the end');
      const start = Math.floor(size / 3);
      const end = Math.max(start, size - 2);
      const ranged = await collect(new FileReadStream(openSync(file, 'r'), start, end));
      assert.deepEqual(ranged, data.subarray(start, end + 1), `range ${start}-${end} of ${size}`);
    }
  });

  it('refills chunks handed back with recycle (and only its own), with the right bytes in each', async () => {
    const file = join(await tempDir(), 'recycled');
    const data = randomBytes(6 * MiB + 123);
    await writeFile(file, data);
    const stream = new FileReadStream(openSync(file, 'r'), 0, data.length - 1);
    const memories = new Set<ArrayBufferLike>();
    const copies: Buffer[] = [];
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      memories.add(bytes.buffer);
      copies.push(Buffer.from(bytes)); // the consumer's own copy, then the chunk goes back
      stream.recycle(bytes);
      stream.recycle(Buffer.alloc(MiB)); // not one of its chunks: ignored
    }
    assert.deepEqual(Buffer.concat(copies), data);
    assert.ok(memories.size < copies.length, `${memories.size} buffers for ${copies.length} chunks: reused`);
  });

  it('fails, never ends cleanly, when the file is shorter than the bytes asked for', async () => {
    const file = join(await tempDir(), 'short');
    await writeFile(file, randomBytes(2 * MiB));
    const fd = openSync(file, 'r');
    await assert.rejects(collect(new FileReadStream(fd, 0, 3 * MiB - 1)), /ended early/);
    assert.equal(await isClosed(fd), true);
  });

  it('closes its descriptor when destroyed mid-read (the client went away)', async () => {
    const file = join(await tempDir(), 'big');
    await writeFile(file, randomBytes(8 * MiB));
    const fd = openSync(file, 'r');
    const stream = new FileReadStream(fd, 0, 8 * MiB - 1);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    assert.equal(await isClosed(fd), true);
  });
});

describe('OCI layout: FileAppendStream (upload writes)', () => {
  it('appends every chunk in order, flushing in the background as it goes, and counts what it wrote', async () => {
    const file = join(await tempDir(), 'upload');
    await writeFile(file, Buffer.from('head:'));
    const chunks = Array.from({ length: 200 }, (_, i) => randomBytes(1000 + i * 37));
    for (const flushEvery of [0, 10_000]) {
      const before = (await readFile(file)).length;
      const out = new FileAppendStream(file, { flushEvery });
      await pipeline(Readable.from(chunks), out);
      const expected = chunks.reduce((n, c) => n + c.length, 0);
      assert.equal(out.bytesWritten, expected);
      const content = await readFile(file);
      assert.deepEqual(content.subarray(before), Buffer.concat(chunks), `flushEvery ${flushEvery}`);
    }
  });

  it('fails on a path it cannot open, and a destroyed stream closes its file', async () => {
    const dir = await tempDir();
    await assert.rejects(pipeline(Readable.from([Buffer.from('x')]), new FileAppendStream(join(dir, 'missing', 'f'))), /ENOENT/);
    const out = new FileAppendStream(join(dir, 'f'), { flushEvery: 1 });
    await new Promise<void>((resolve, reject) => out.write(randomBytes(4096), (err) => (err ? reject(err) : resolve())));
    out.destroy();
    await new Promise((resolve) => out.once('close', resolve));
    assert.equal((await stat(join(dir, 'f'))).size, 4096);
  });
});

describe('OCI layout: blobVersion', () => {
  async function pushed(storage: OciLayoutStorage, repository: string, data: Buffer): Promise<string> {
    const id = randomUUID();
    await storage.createUpload(repository, id);
    await storage.appendUpload(repository, id, 0, Readable.from([data]));
    await storage.commitUpload(repository, id, sha256(data), data.length);
    return sha256(data);
  }

  it('changes on any rewrite of the bytes, even one that restores the mtime; is shared by deduplicated copies', async () => {
    const storage = new OciLayoutStorage({ rootDirectory: await tempDir(), dedupe: true });
    const data = randomBytes(64 * 1024);
    const digest = await pushed(storage, 'one', data);
    await pushed(storage, 'two', data);
    const before = await storage.blobVersion('one', digest);
    assert.ok(before);
    assert.equal(await storage.blobVersion('two', digest), before, 'one inode, one version');
    assert.equal(await storage.blobVersion('one', digest), before, 'stable while nothing changes');
    assert.equal(await storage.blobVersion('one', `sha256:${'0'.repeat(64)}`), undefined);

    const file = storage.paths.blob('one', digest);
    const { atime, mtime } = await stat(file);
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from([data[0]! ^ 0xff]), 0, 1, 0);
    await handle.close();
    await utimes(file, atime, mtime); // a careful vandal: same size, same mtime
    const after = await storage.blobVersion('one', digest);
    assert.notEqual(after, before);
    assert.equal(await storage.blobVersion('two', digest), after);
  });
});
