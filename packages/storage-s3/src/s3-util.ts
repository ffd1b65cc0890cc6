import { S3Client } from '@aws-sdk/client-s3';
import type { S3StorageOptions } from './options.js';

/** The S3 client for these options, set up for any S3-compatible store. */
export function createClient(options: S3StorageOptions): S3Client {
  return new S3Client({
    region: options.region ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Checksums only where S3 demands them: the SDK's default (CRC32 on every upload, sent as a
    // trailer) makes streamed PutObject fail on stores such as Ceph 16 (411 Length Required).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Bounded retries with the SDK's backoff for throttling and 5xx.
    maxAttempts: 5,
  });
}

interface S3ErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function shape(err: unknown): S3ErrorShape {
  return (typeof err === 'object' && err !== null ? err : {}) as S3ErrorShape;
}

export function statusOf(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

export function isNotFound(err: unknown): boolean {
  const e = shape(err);
  return e.$metadata?.httpStatusCode === 404 || e.name === 'NoSuchKey' || e.name === 'NotFound' || e.name === 'NoSuchUpload';
}

/** A conditional write lost: the object changed (412), or a concurrent conditional write is in flight (409). */
export function isConditionFailed(err: unknown): boolean {
  const e = shape(err);
  const status = e.$metadata?.httpStatusCode;
  return status === 412 || (status === 409 && (e.name === 'ConditionalRequestConflict' || e.Code === 'ConditionalRequestConflict'));
}

export function isNotModified(err: unknown): boolean {
  return shape(err).$metadata?.httpStatusCode === 304;
}

/** Runs `work` over `items` with at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
