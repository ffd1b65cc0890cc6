/**
 * A small JSON document on disk shared by every process serving the same storage folder: reads
 * notice another process's write at once (the file's identity is checked on every read, which
 * costs one `stat`), writes take a lock file and replace the document atomically (temporary
 * file, fsync, rename), so concurrent writers in several workers lose nothing.
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

const LOCK_STALE_MS = 30_000;
const LOCK_RETRY_MS = 5;

export class JsonFile<T> {
  private cached: { signature: string; value: T } | undefined;

  constructor(
    readonly path: string,
    private readonly empty: () => T,
  ) {}

  async read(): Promise<T> {
    let signature: string;
    try {
      const info = await stat(this.path);
      signature = `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw err;
    }
    if (this.cached?.signature === signature) return this.cached.value;
    let value: T;
    try {
      value = JSON.parse(await readFile(this.path, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw new Error(`${this.path} is not valid JSON: ${(err as Error).message}`);
    }
    this.cached = { signature, value };
    return value;
  }

  /** Reads, changes and writes the document under the lock; resolves what `change` returned. */
  async update<R>(change: (value: T) => R): Promise<R> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const release = await this.lock();
    try {
      this.cached = undefined;
      const value = await this.read();
      const result = change(value);
      const temporary = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
      const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(JSON.stringify(value));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.path);
      return result;
    } finally {
      await release();
    }
  }

  private async lock(): Promise<() => Promise<void>> {
    const lockPath = `${this.path}.lock`;
    for (;;) {
      try {
        const handle = await open(lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        await handle.close();
        return () => rm(lockPath, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A lock left by a process that died is taken over after a while.
        const info = await stat(lockPath).catch(() => undefined);
        if (info && Date.now() - info.mtimeMs > LOCK_STALE_MS) await rm(lockPath, { force: true });
        await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
      }
    }
  }
}
