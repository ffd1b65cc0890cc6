import { close, read } from 'node:fs';
import { Readable } from 'node:stream';
import type { RecyclingReadable } from '@zotjs/core';

// Large reads, and the next one always in flight: the thread pool reads chunk n+1 while the
// event loop writes chunk n to the socket. fs.createReadStream starts a read only once the
// previous chunk was consumed, which serialises disk and socket and halves a pull's throughput.
const CHUNK = 1024 * 1024;

interface PendingRead {
  buffer: Buffer;
  length: number;
  done: boolean;
  error?: Error;
}

// Buffers a stream keeps for reuse (see recycle): enough for the chunks in flight to a socket.
const SPARE_BUFFERS = 4;

/**
 * Streams bytes `start..end` (inclusive) of an open file descriptor, which it owns and closes.
 * A file that turns out shorter than expected fails the stream (never a silently short body).
 *
 * `recycle(chunk)` hands a chunk back once its consumer is done with it (the HTTP adapter does,
 * when the socket has taken the bytes): the stream refills it instead of allocating. Fresh
 * megabytes for every chunk would cost page faults and a full garbage collection every few
 * dozen megabytes, which halves a pull's throughput. Chunks never handed back are simply
 * garbage-collected.
 */
export class FileReadStream extends Readable implements RecyclingReadable {
  private position: number;
  private readonly stop: number;
  private pending: PendingRead | undefined;
  private waiting = false;
  private started = false;
  private closeWhenIdle: (() => void) | undefined;
  private readonly own = new WeakSet<ArrayBufferLike>();
  private readonly spare: ArrayBuffer[] = [];

  constructor(
    private readonly fd: number,
    start: number,
    end: number,
  ) {
    super({ highWaterMark: CHUNK });
    this.position = start;
    this.stop = end + 1;
  }

  override _read(): void {
    if (!this.started) {
      this.started = true;
      this.pending = this.fetch();
    }
    this.deliver();
  }

  private fetch(): PendingRead | undefined {
    const length = Math.min(CHUNK, this.stop - this.position);
    if (length <= 0) return undefined;
    const pending: PendingRead = { buffer: this.buffer(length), length, done: false };
    read(this.fd, pending.buffer, 0, length, this.position, (err, bytesRead) => {
      pending.done = true;
      if (err) pending.error = err;
      else if (bytesRead !== length) pending.error = new Error(`file ended early: read ${bytesRead} of ${length} bytes`);
      if (this.closeWhenIdle) this.closeWhenIdle();
      else if (this.waiting) {
        this.waiting = false;
        this.deliver();
      }
    });
    this.position += length;
    return pending;
  }

  /** Gives back a chunk this stream produced, once nothing refers to its bytes any more. */
  recycle(chunk: Buffer): void {
    const memory = chunk.buffer;
    if (this.own.has(memory) && this.spare.length < SPARE_BUFFERS && !this.destroyed) this.spare.push(memory as ArrayBuffer);
  }

  private buffer(length: number): Buffer {
    const reused = this.spare.pop();
    if (reused) return Buffer.from(reused, 0, length);
    // Not from the shared pool: each chunk is handed to the consumer, which may keep it.
    const fresh = Buffer.allocUnsafeSlow(length);
    if (length === CHUNK) this.own.add(fresh.buffer);
    return fresh;
  }

  private deliver(): void {
    if (this.destroyed) return;
    const current = this.pending;
    if (!current) {
      this.push(null);
      return;
    }
    if (!current.done) {
      this.waiting = true;
      return;
    }
    if (current.error) {
      this.destroy(current.error);
      return;
    }
    this.pending = this.fetch();
    this.push(current.buffer);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Never close under a read in flight: the descriptor number could be reused meanwhile.
    const finish = (): void => close(this.fd, () => callback(error));
    if (this.pending && !this.pending.done) this.closeWhenIdle = finish;
    else finish();
  }
}
