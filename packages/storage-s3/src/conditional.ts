import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isConditionFailed } from './s3-util.js';

/**
 * How the store takes `If-Match` on writes: with the ETag quoted as S3 returns it (AWS), bare (Ceph
 * RGW 16 compares the unquoted value), or not at all (the header is ignored: every write wins).
 */
export type ConditionalStyle = 'quoted' | 'bare' | 'none';

/** The `If-Match` value for `etag` in this style; undefined when conditions are not honoured. */
export function ifMatchValue(style: ConditionalStyle, etag: string): string | undefined {
  if (style === 'none') return undefined;
  const bare = etag.replace(/^W\//, '').replace(/^"|"$/g, '');
  return style === 'bare' ? bare : `"${bare}"`;
}

/**
 * Finds out, with a scratch object at `key`, whether the store honours `If-Match` and
 * `If-None-Match: *` on PutObject, and how it wants the ETag written.
 */
export async function probeConditionalWrites(client: S3Client, bucket: string, key: string): Promise<ConditionalStyle> {
  const put = async (body: string, condition: { IfMatch?: string; IfNoneMatch?: string } = {}): Promise<string | undefined> => {
    try {
      const out = await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: Buffer.byteLength(body), ...condition }),
      );
      return out.ETag ?? '';
    } catch (err) {
      if (isConditionFailed(err) || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 501)
        return undefined;
      throw err;
    }
  };
  try {
    const etag = await put('probe-1');
    if (etag === undefined) return 'none';
    // A store that ignores the header accepts a write guarded by an ETag that cannot match.
    if ((await put('probe-2', { IfMatch: '"00000000000000000000000000000000"' })) !== undefined) return 'none';
    if ((await put('probe-3', { IfNoneMatch: '*' })) !== undefined) return 'none';
    let style: ConditionalStyle = 'quoted';
    if ((await put('probe-4', { IfMatch: ifMatchValue('quoted', etag)! })) === undefined) {
      style = 'bare';
      if ((await put('probe-4', { IfMatch: ifMatchValue('bare', etag)! })) === undefined) return 'none';
    }
    return style;
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  }
}
