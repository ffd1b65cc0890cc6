import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3Storage } from '../src/index.js';
import { createBucket, emptyPrefix, s3Unavailable, startS3, storageOptions, type S3Endpoint } from './support/ceph.js';

/** Records the name of every command the storage's client sends. */
function recordCommands(storage: S3Storage): string[] {
  const sent: string[] = [];
  storage.client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize' },
  );
  return sent;
}

async function probeFailure(storage: S3Storage): Promise<{ code: unknown; message: string }> {
  const health = storage.capabilities.health;
  assert.ok(health, 'the S3 backend lists the health capability');
  try {
    await health.probe();
  } catch (err) {
    return { code: (err as { code?: unknown }).code, message: (err as Error).message };
  }
  assert.fail('the probe resolved');
}

/** A port on 127.0.0.1 with nothing listening (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// /readyz on an S3 backend asks the bucket itself (a real Ceph RADOS Gateway here), never a local folder.
describe('S3 health probe', { skip: await s3Unavailable() }, () => {
  let s3: S3Endpoint;
  let bucket: string;
  const root = `probe-${randomBytes(6).toString('hex')}`;
  before(async () => {
    s3 = await startS3();
    bucket = await createBucket(s3);
  });
  after(async () => {
    await s3?.stop();
  });

  it('asks for the bucket on every probe and writes to it at most once a minute, leaving nothing behind', async () => {
    const storage = new S3Storage(storageOptions(s3, bucket, root));
    try {
      const sent = recordCommands(storage);
      await storage.capabilities.health!.probe();
      assert.deepEqual(sent, ['HeadBucketCommand', 'PutObjectCommand', 'DeleteObjectCommand'], 'the first probe proves writes');
      sent.length = 0;
      await storage.capabilities.health!.probe();
      await storage.capabilities.health!.probe();
      assert.deepEqual(sent, ['HeadBucketCommand', 'HeadBucketCommand'], 'then a HEAD of the bucket answers');
      const left = await storage.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${root}/` }));
      assert.equal(left.KeyCount ?? 0, 0, 'no probe object left');
    } finally {
      await emptyPrefix(storage.client, bucket, `${root}/`);
      storage.destroy();
    }
  });

  it('names a missing bucket, refused credentials and an unreachable endpoint, and nothing secret', async () => {
    const missing = new S3Storage(storageOptions(s3, `zot-missing-${randomBytes(4).toString('hex')}`));
    const refused = new S3Storage({
      ...storageOptions(s3, bucket),
      credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'not-the-secret' },
    });
    const unreachable = new S3Storage({ ...storageOptions(s3, bucket), endpoint: `http://127.0.0.1:${await closedPort()}` });
    try {
      assert.equal((await probeFailure(missing)).code, 'NoSuchBucket');
      const denied = await probeFailure(refused);
      assert.equal(denied.code, 'AccessDenied');
      assert.ok(!denied.message.includes('not-the-secret') && !denied.message.includes('NOT-A-KEY'), denied.message);
      assert.equal((await probeFailure(unreachable)).code, 'ECONNREFUSED');
    } finally {
      for (const storage of [missing, refused, unreachable]) storage.destroy();
    }
  });
});
