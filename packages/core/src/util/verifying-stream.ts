import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { isRecycling, type RecyclingReadable } from '../storage-capabilities.js';
import type { Digest } from '../digest.js';
import { feedHasher, offThreadHasher, type Hasher } from './hash-worker.js';

/** Raised (as the stream's error) when stored bytes no longer hash to their digest. */
export class CorruptContentError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly bytes: number,
  ) {
    super(`stored content of ${expected} is corrupt: it hashes to ${actual} (${bytes} bytes read)`);
    this.name = 'CorruptContentError';
  }
}

export interface VerifyEvents {
  /** The bytes do not hash to the digest (the stream fails with this error too). */
  onCorrupt?: (error: CorruptContentError) => void;
  /** Every byte was read and the digest matched. */
  onVerified?: () => void;
}

/**
 * Passes a whole blob through while hashing it, and fails instead of ending when the bytes do
 * not hash to `digest` (or their count is not `size`). The last chunk is held back until the
 * check passed, so a reader of a corrupt blob never receives all of its bytes: with a
 * Content-Length response the client sees a cut connection, never a clean end with wrong bytes.
 * The hashing itself runs on a worker thread when one is available (see hash-worker.ts).
 */
export class VerifyingStream extends Transform {
  private readonly hasher: Hasher;
  private held: Buffer | undefined;
  private source: RecyclingReadable | undefined;
  private bytes = 0;

  constructor(
    private readonly digest: Digest,
    private readonly size: number,
    private readonly events: VerifyEvents = {},
    hasher?: Hasher,
  ) {
    super({ highWaterMark: 1 << 20 });
    this.hasher = hasher ?? offThreadHasher(digest.algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const previous = this.held;
    this.held = chunk;
    feedHasher(this.hasher, chunk, (err) => (err ? callback(err) : callback(null, previous)));
  }

  override _flush(callback: TransformCallback): void {
    this.hasher.digest().then(
      (actual) => {
        if (actual !== this.digest.value || this.bytes !== this.size) {
          const error = new CorruptContentError(this.digest.value, actual, this.bytes);
          this.events.onCorrupt?.(error);
          callback(error);
          return;
        }
        this.events.onVerified?.();
        callback(null, this.held);
      },
      (err: Error) => callback(err),
    );
  }

  /**
   * Passes a chunk handed back by the consumer on to the source, when the source takes chunks
   * back (see the OCI layout's FileReadStream): every chunk was copied to the hasher before it
   * left this stream, so nothing here refers to it any more.
   */
  recycle(chunk: Buffer): void {
    this.source?.recycle(chunk);
  }

  /** The stream this one reads from, if it takes its chunks back. */
  recycleInto(source: Readable): void {
    if (isRecycling(source)) this.source = source;
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.hasher.abort();
    callback(err);
  }
}
