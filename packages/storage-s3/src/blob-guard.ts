import { DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KeyLayout } from './keys.js';
import { isNotFound, sleep } from './s3-util.js';

/** A garbage collector that died mid-delete leaves its marker; after this long it no longer counts. */
const MARKER_STALE_MS = 120_000;

/**
 * Makes garbage collection's conditional delete and a concurrent touch (or re-write) of the same blob
 * never interleave, with S3's strong read-after-write consistency and no locks:
 *
 * - delete: put a marker `.uploads/gc-<alg>-<hex>`, check the blob's age (the later of the blob's
 *   and its touch record's modification times), delete it and its touch record, remove the marker;
 * - touch: write the touch record `.uploads/touch-<alg>-<hex>` (one atomic PUT), then wait until no
 *   marker is present and look again: the blob is there for good, or a delete removed it (then it is
 *   reported missing);
 * - write: write the blob, then wait out a marker the same way (the caller writes it again if gone).
 *
 * Either the delete checks the age after the touch (and keeps the blob), or the marker was there
 * before the touch record and the toucher sees it or the missing blob. A touch never writes the
 * blob itself: a server-side copy onto itself reads the source, then writes, and a delete landing
 * in between was silently undone (the blob back, the delete reported done).
 */
export class BlobGuard {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly keys: KeyLayout,
  ) {}

  /** Deletes the blob only if it was last modified at or before `cutoff`. */
  async deleteIfUnmodifiedSince(repository: string, digest: string, cutoff: Date): Promise<boolean> {
    const marker = this.keys.gcMarker(repository, digest);
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: marker, Body: Buffer.alloc(0), ContentLength: 0 }));
    try {
      const modified = await this.modifiedAt(this.keys.blob(repository, digest));
      if (!modified || modified.getTime() > cutoff.getTime()) return false;
      const touched = await this.modifiedAt(this.keys.touchRecord(repository, digest));
      if (touched && touched.getTime() > cutoff.getTime()) return false;
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keys.blob(repository, digest) }));
      await this.forgetTouches(repository, digest);
      return true;
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: marker }));
    }
  }

  /** Refreshes the blob's modification time; false if the repository does not hold it (any more). */
  async touch(repository: string, digest: string): Promise<boolean> {
    if ((await this.size(this.keys.blob(repository, digest))) === undefined) return false;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.keys.touchRecord(repository, digest),
        Body: Buffer.alloc(0),
        ContentLength: 0,
      }),
    );
    return this.settled(repository, digest);
  }

  /** Removes the blob's touch record (the blob itself is gone). */
  async forgetTouches(repository: string, digest: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keys.touchRecord(repository, digest) }));
  }

  /**
   * After a write of the blob: waits out a delete in progress, then tells whether the blob is there.
   * False means a delete that started before the write removed it; the caller writes it again.
   */
  async settled(repository: string, digest: string): Promise<boolean> {
    const marker = this.keys.gcMarker(repository, digest);
    for (;;) {
      const since = await this.modifiedAt(marker, false);
      if (!since || Date.now() - since.getTime() > MARKER_STALE_MS) break;
      await sleep(25);
    }
    return (await this.size(this.keys.blob(repository, digest))) !== undefined;
  }

  private async size(key: string): Promise<number | undefined> {
    try {
      return (await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))).ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * The object's modification time. With `precise` it is read from a listing (milliseconds, where
   * HEAD's Last-Modified has whole seconds), so that a blob touched a moment after the cutoff is kept.
   */
  private async modifiedAt(key: string, precise = true): Promise<Date | undefined> {
    if (!precise) {
      try {
        return (await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))).LastModified ?? new Date();
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    }
    const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 }));
    const found = out.Contents?.find((o) => o.Key === key);
    if (!found) return undefined;
    const when = found.LastModified ?? new Date();
    // A store listing whole seconds only: the write may have been up to a second later.
    return when.getMilliseconds() === 0 ? new Date(when.getTime() + 999) : when;
  }
}
