import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Registry, type RegistryStorage } from '@zotjs/core';
import { S3Storage, MIN_PART_SIZE } from '../src/index.js';
import { createBucket, emptyPrefix, s3Unavailable, startS3, storageOptions, type S3Endpoint } from './support/ceph.js';

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** The storage with readUpload refused: proves a registry finished a session without re-reading it. */
function withoutReadUpload(storage: S3Storage): RegistryStorage {
  return new Proxy(storage, {
    get(target, property, receiver) {
      if (property === 'readUpload') return () => Promise.reject(new Error('readUpload called: the session was re-read'));
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

// The running sha256 lives in the bucket with the session: a replica that did not receive the chunks
// completes the upload from it, also when the chunks crossed part boundaries (multipart uploads).
describe('S3 upload sessions track their sha256 in the bucket', { skip: await s3Unavailable() }, () => {
  let s3: S3Endpoint;
  let bucket: string;
  const root = `digest-${randomBytes(6).toString('hex')}`;
  const open = (): S3Storage => new S3Storage({ ...storageOptions(s3, bucket, root), partSize: MIN_PART_SIZE });
  before(async () => {
    s3 = await startS3();
    bucket = await createBucket(s3);
  });
  after(async () => {
    if (bucket) {
      const cleaner = open();
      await emptyPrefix(cleaner.client, bucket, `${root}/`);
      cleaner.destroy();
    }
    await s3?.stop();
  });

  it('chunks spread over two replicas across part boundaries: the other replica commits without re-reading', async () => {
    const [a, b] = [open(), open()];
    try {
      const [registryA, registryB] = [new Registry({ storage: a }), new Registry({ storage: withoutReadUpload(b) })];
      const data = randomBytes(2 * MIN_PART_SIZE + 777_777);
      const { uploadId } = await registryA.startUpload('multi/part');
      const ends = [3 * 1024 * 1024, MIN_PART_SIZE + 5, 2 * MIN_PART_SIZE + 100, data.length];
      let size = 0;
      for (const [i, end] of ends.entries()) {
        const registry = i % 2 === 0 ? registryB : registryA;
        const chunk = data.subarray(size, end);
        const status = await registry.appendChunk('multi/part', uploadId, Readable.from([chunk]), {
          range: { start: size, end: end - 1 },
        });
        size = status.size;
        assert.deepEqual(await a.uploadDigest('multi/part', uploadId, 'sha256'), { digest: sha256(data.subarray(0, size)), size });
      }
      assert.equal(await b.uploadDigest('multi/part', uploadId, 'sha512'), undefined, 'only sha256 is tracked');
      const stored = await registryB.completeUpload('multi/part', uploadId, sha256(data));
      assert.deepEqual(stored, { digest: sha256(data), size: data.length });
      const blob = await registryA.readBlob('multi/part', sha256(data));
      const chunks: Buffer[] = [];
      for await (const chunk of blob.stream) chunks.push(chunk as Buffer);
      assert.ok(Buffer.concat(chunks).equals(data), 'the blob holds the exact bytes');
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it('a wrong digest is still refused from the tracked state', async () => {
    const [a, b] = [open(), open()];
    try {
      const data = randomBytes(100_000);
      const { uploadId } = await new Registry({ storage: a }).startUpload('wrong');
      await new Registry({ storage: a }).appendChunk('wrong', uploadId, Readable.from([data]));
      await assert.rejects(new Registry({ storage: withoutReadUpload(b) }).completeUpload('wrong', uploadId, sha256(randomBytes(10))), {
        code: 'DIGEST_INVALID',
      });
      assert.equal(await b.statBlob('wrong', sha256(data)), undefined);
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});
