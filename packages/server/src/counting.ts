import { Transform, type TransformCallback } from 'node:stream';
import type { BodyBufferReclaimer } from './body-buffer-reclaimer.js';

/**
 * A pass-through that counts the bytes going through it (for the request log). Chunks are passed
 * on as they are: no copy, no buffering beyond the stream's own high-water mark.
 */
export class ByteCounter extends Transform {
  bytes = 0;

  constructor(private readonly reclaimer?: BodyBufferReclaimer) {
    super({ highWaterMark: 1 << 16 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.reclaimer?.add(chunk.length);
    callback(null, chunk);
  }
}
