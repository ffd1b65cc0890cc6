import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { feedHasher, type Hasher } from './hash-worker.js';

/**
 * A pass-through that feeds every chunk to `hasher` and counts bytes, so the digest is computed
 * while the bytes stream to storage (one pass, nothing buffered). Fails once more than `limit`
 * bytes went through.
 */
export class HashingCounter extends Transform {
  bytes = 0;

  constructor(
    private readonly hasher: Hasher | undefined,
    private readonly limit = Number.POSITIVE_INFINITY,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(new BodyTooLargeError(this.limit));
      return;
    }
    if (!this.hasher) {
      callback(null, chunk);
      return;
    }
    feedHasher(this.hasher, chunk, (err) => (err ? callback(err) : callback(null, chunk)));
  }

  override _flush(callback: TransformCallback): void {
    this.hasher?.flush();
    callback();
  }
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Reads a whole (small, bounded) stream into memory; fails past `limit` bytes. */
export async function readAll(stream: Readable | AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > limit) {
      if ('destroy' in stream && typeof stream.destroy === 'function') stream.destroy();
      throw new BodyTooLargeError(limit);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}
