/**
 * Test support: a real Ceph RADOS Gateway (scripts/ceph/start.sh) for the whole test file, or the S3 store
 * named by ZOT_TEST_S3_ENDPOINT / ZOT_TEST_S3_ACCESS_KEY / ZOT_TEST_S3_SECRET_KEY (/ ZOT_TEST_S3_REGION).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { S3Storage, type S3StorageOptions } from '../../src/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The repository checkout (this file compiles to packages/storage-s3/dist/test/support/ceph.js). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');

export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Stops the cluster when this file started one. */
  stop(): Promise<void>;
}

interface CephModule {
  cephUnavailable(): string | undefined;
  startCeph(options?: { dir?: string }): Promise<S3Endpoint & { dir: string }>;
}

async function cephModule(): Promise<CephModule> {
  return (await import(pathToFileURL(join(repoRoot, 'scripts/ceph/ceph.mjs')).href)) as CephModule;
}

/** Why no S3 store is available for the tests (so they are skipped), or undefined. */
export async function s3Unavailable(): Promise<string | undefined> {
  if (process.env.ZOT_TEST_S3_ENDPOINT) return undefined;
  return (await cephModule()).cephUnavailable();
}

export async function startS3(): Promise<S3Endpoint> {
  const endpoint = process.env.ZOT_TEST_S3_ENDPOINT;
  if (endpoint) {
    return {
      endpoint,
      region: process.env.ZOT_TEST_S3_REGION ?? 'us-east-1',
      accessKeyId: process.env.ZOT_TEST_S3_ACCESS_KEY ?? '',
      secretAccessKey: process.env.ZOT_TEST_S3_SECRET_KEY ?? '',
      stop: async () => undefined,
    };
  }
  return (await cephModule()).startCeph();
}

export function storageOptions(s3: S3Endpoint, bucket: string, rootDirectory?: string): S3StorageOptions {
  return {
    bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ...(rootDirectory ? { rootDirectory } : {}),
  };
}

export async function createBucket(s3: S3Endpoint, name = `zot-test-${randomBytes(4).toString('hex')}`): Promise<string> {
  const storage = new S3Storage(storageOptions(s3, name));
  try {
    await storage.client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    storage.destroy();
  }
  return name;
}

/** Removes every object and multipart upload under `prefix` (a test's private root). */
export async function emptyPrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    await Promise.all(
      (uploads.Uploads ?? []).map((u) =>
        client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! })),
      ),
    );
    if (!uploads.IsTruncated) break;
  }
  for (;;) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    if (!listed.IsTruncated) break;
  }
}
