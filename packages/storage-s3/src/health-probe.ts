import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Bucket } from './bucket.js';
import type { KeyLayout } from './keys.js';
import { statusOf } from './s3-util.js';

/** A successful write proves the bucket writable for this long; in between, a HEAD of the bucket answers. */
const WRITE_PROOF_MS = 60_000;

/**
 * Readiness of the bucket, as the store itself answers it (not a local folder): every probe asks
 * for the bucket (HeadBucket: endpoint reachable, credentials valid, bucket there), and at most
 * once a minute, or until one succeeds, also writes and deletes a small object. A write on every
 * probe would be billed (a PUT every two seconds per replica); a minute-old write proof still
 * catches a bucket turned read-only or over quota within a minute.
 */
export class BucketProbe {
  private lastWrite = 0;

  constructor(
    private readonly bucket: Bucket,
    private readonly keys: KeyLayout,
  ) {}

  async probe(): Promise<void> {
    try {
      await this.bucket.client.send(new HeadBucketCommand({ Bucket: this.bucket.name }));
      if (Date.now() - this.lastWrite < WRITE_PROOF_MS) return;
      // Under `.uploads/` of the root: never a repository; a copy left by a failed delete is a leftover.
      const key = this.keys.probe(`health-${randomBytes(6).toString('hex')}`);
      await this.bucket.client.send(new PutObjectCommand({ Bucket: this.bucket.name, Key: key, Body: 'ok', ContentLength: 2 }));
      await this.bucket.client.send(new DeleteObjectCommand({ Bucket: this.bucket.name, Key: key }));
      this.lastWrite = Date.now();
    } catch (err) {
      throw notReady(err);
    }
  }
}

/** The failure as a short code (`NoSuchBucket`, `AccessDenied`, `ECONNREFUSED`, ...): what /readyz shows. */
function notReady(err: unknown): Error {
  const status = statusOf(err);
  const { code, name } = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; name?: unknown };
  const reason =
    status === 404
      ? 'NoSuchBucket'
      : status === 403
        ? 'AccessDenied'
        : typeof code === 'string'
          ? code
          : typeof name === 'string' && name !== 'Error'
            ? name
            : 'error';
  return Object.assign(new Error(`the S3 bucket is not ready (${reason})`), { code: reason, cause: err });
}
