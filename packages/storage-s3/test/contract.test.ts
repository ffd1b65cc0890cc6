import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { runStorageContract } from '@zotjs/core/testing';
import { S3Storage } from '../src/index.js';
import { createBucket, emptyPrefix, s3Unavailable, startS3, storageOptions, type S3Endpoint } from './support/ceph.js';

// The S3 backend proves itself with the same kit as every backend, against a real Ceph RADOS Gateway.
// Each test gets its own key prefix in one bucket; a second instance over the same prefix stands for
// another replica.
describe('S3 backend on Ceph RGW', { skip: await s3Unavailable() }, () => {
  let s3: S3Endpoint;
  let bucket: string;
  before(async () => {
    s3 = await startS3();
    bucket = await createBucket(s3);
  });
  after(async () => {
    await s3?.stop();
  });

  runStorageContract(
    'S3Storage',
    async () => {
      const root = `contract-${randomBytes(6).toString('hex')}`;
      const open = (): S3Storage => new S3Storage(storageOptions(s3, bucket, root));
      const storage = open();
      const peers: S3Storage[] = [storage];
      return {
        storage,
        openPeer: async () => {
          const peer = open();
          peers.push(peer);
          return peer;
        },
        cleanup: async () => {
          await emptyPrefix(storage.client, bucket, `${root}/`);
          for (const peer of peers) peer.destroy();
        },
      };
    },
    { sharedStorage: true },
  );
});
