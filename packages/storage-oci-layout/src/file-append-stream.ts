import { close, fdatasync, open, writev } from 'node:fs';
import { Writable } from 'node:stream';
import { FILE_MODE } from './fs-util.js';

// With `flushEvery` set, the bytes written so far are flushed to disk in the background every
// this many bytes, and what is left when the stream ends as well, while the next bytes (or the
// next chunk of a chunked upload) arrive: the fsync before the blob is committed then has little
// left to write, instead of the whole blob after the last byte came in.
const HIGH_WATER_MARK = 1024 * 1024;

export interface FileAppendOptions {
  /** Start a background fdatasync each time this many more bytes were written, and at the end (0: never). */
  flushEvery?: number;
}

/**
 * Appends everything written to it to `path` (created 0600 if missing). Buffered chunks go out
 * in one writev; `bytesWritten` counts what the file has received.
 */
export class FileAppendStream extends Writable {
  bytesWritten = 0;
  private fd = -1;
  private unflushed = 0;
  private syncing: Promise<void> | undefined;
  private readonly flushEvery: number;

  constructor(
    private readonly path: string,
    options: FileAppendOptions = {},
  ) {
    super({ highWaterMark: HIGH_WATER_MARK });
    this.flushEvery = options.flushEvery ?? 0;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, 'a', FILE_MODE, (err, fd) => {
      if (err) return callback(err);
      this.fd = fd;
      callback();
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writeAll(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    // A background flush may still be running; its failure is this stream's failure.
    if (this.syncing) this.syncing.then(() => callback(), callback);
    else callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const finish = (): void => {
      const fd = this.fd;
      this.fd = -1;
      if (fd < 0) {
        callback(error);
        return;
      }
      if (!error && this.flushEvery > 0 && this.unflushed > 0) {
        // The tail of this append is flushed while the client sends its next chunk; the
        // descriptor goes with it. The commit's own fsync is what a blob waits for.
        fdatasync(fd, () => close(fd, () => undefined));
        callback(null);
        return;
      }
      close(fd, (closeError) => callback(error ?? closeError));
    };
    // Never close under a flush in flight: the descriptor number could be reused meanwhile.
    if (this.syncing) this.syncing.then(finish, finish);
    else finish();
  }

  private writeAll(buffers: Buffer[], callback: (error?: Error | null) => void): void {
    writev(this.fd, buffers, (err, written) => {
      if (err) return callback(err);
      this.bytesWritten += written;
      const total = buffers.reduce((sum, b) => sum + b.length, 0);
      if (written < total) {
        // Short write (rare: a signal, a full disk about to say ENOSPC): write the rest.
        this.writeAll(remainder(buffers, written), callback);
        return;
      }
      this.unflushed += written;
      if (this.flushEvery > 0 && this.unflushed >= this.flushEvery && !this.syncing) this.flushInBackground();
      callback();
    });
  }

  private flushInBackground(): void {
    this.unflushed = 0;
    const fd = this.fd;
    this.syncing = new Promise<void>((resolve, reject) => {
      fdatasync(fd, (err) => {
        this.syncing = undefined;
        if (err) reject(err);
        else resolve();
      });
    });
    // Observed by _final/_destroy; a failure here also fails the blob's final fsync.
    this.syncing.catch(() => undefined);
  }
}

function remainder(buffers: Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}
