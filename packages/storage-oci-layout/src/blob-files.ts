import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, type BigIntStats } from 'node:fs';
import { copyFile, link, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { DigestAlgorithms, tryParseDigest, type BlobEntry, type DeleteBlobOptions, type ReadBlobOptions } from '@zotjs/core';
import type { DedupeStore } from './dedupe-store.js';
import type { DirectoryWatch } from './directory-watch.js';
import { FileReadStream } from './file-read-stream.js';
import { ensureDir, isNotFound, listDir, openFile, statNow, syncDir, touch, writeFileAtomic, writeFileDurable } from './fs-util.js';
import type { LayoutPaths } from './paths.js';
import type { RepositoryFolders } from './repository-folders.js';
import { RepositoryLocks } from './repository-lock.js';

/**
 * Written by every conditional (garbage-collection) delete before it looks at a blob; touches
 * take the locked path while it is recent. Longer than any one delete can take (its lock wait
 * included), and by far.
 */
const GC_MARKER = 'gc.active';
const GC_MARKER_WINDOW_MS = 10 * 60 * 1000;
const BLOB_SIZES_CACHED = 65536;

export interface BlobFilesOptions {
  durable: boolean;
  dedupe: boolean;
  watch: DirectoryWatch | undefined;
}

/**
 * A repository's blobs as files, `blobs/<alg>/<hex>`: sizes (cached while the folder's watch is
 * quiet), reads from an open descriptor, version tokens, writes (atomic, deduplicated with hard
 * links), deletes (conditional ones exclusive with touches), touches and mounts (hard links).
 */
export class BlobFiles {
  private readonly locks = new RepositoryLocks(5000, 'blobs.lock');
  // Blob sizes (undefined: absent) with their folder's watch generation, for HEAD and manifest checks.
  // Bounded: the oldest entry goes first (a re-check costs one stat).
  private readonly sizes = new Map<string, { size: number | undefined; generation: number }>();

  constructor(
    private readonly paths: LayoutPaths,
    private readonly folders: RepositoryFolders,
    private readonly store: DedupeStore,
    private readonly options: BlobFilesOptions,
  ) {}

  async stat(repository: string, digest: string): Promise<number | undefined> {
    const file = this.paths.blob(repository, digest);
    const generation = this.options.watch?.generation(dirname(file));
    if (generation !== undefined) {
      const cached = this.sizes.get(file);
      if (cached && cached.generation === generation) return cached.size;
    }
    const info = statNow(file);
    const size = info?.isFile() ? info.size : undefined;
    if (generation !== undefined) {
      if (this.sizes.size >= BLOB_SIZES_CACHED) this.sizes.delete(this.sizes.keys().next().value as string);
      this.sizes.set(file, { size, generation });
    }
    return size;
  }

  /**
   * After this process added or removed the blob: its folder's watch event may not have been
   * delivered yet, and the next request must not wait for it.
   */
  forgetSize(repository: string, digest: string): void {
    this.sizes.delete(this.paths.blob(repository, digest));
  }

  async read(repository: string, digest: string, options: ReadBlobOptions = {}): Promise<Readable | undefined> {
    let fd: number;
    try {
      // Open first, stream from the descriptor: a concurrent delete cannot turn this into a half read.
      fd = await openFile(this.paths.blob(repository, digest), 'r');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    let end: number;
    try {
      end = options.range ? options.range.end : fstatSync(fd).size - 1;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    const stream = new FileReadStream(fd, options.range?.start ?? 0, end);
    if (options.signal) addAbortSignal(options.signal, stream);
    return stream;
  }

  async version(repository: string, digest: string): Promise<string | undefined> {
    const info = statNow(this.paths.blob(repository, digest), true);
    return info?.isFile() ? versionToken(info) : undefined;
  }

  async put(repository: string, digest: string, data: Uint8Array): Promise<void> {
    try {
      await this.write(repository, digest, data);
    } finally {
      this.forgetSize(repository, digest);
    }
  }

  async delete(repository: string, digest: string, options: DeleteBlobOptions = {}): Promise<boolean> {
    try {
      return await this.remove(repository, digest, options);
    } finally {
      this.forgetSize(repository, digest);
    }
  }

  /**
   * Lock-free unless garbage collection deleted (or tried to) in this repository lately: the
   * touch goes first, then the marker is checked. A conditional delete writes the marker before
   * it looks at the blob, so either it looks after our touch (and keeps the blob), or we see its
   * marker and touch again under the lock it deletes under (and see the blob gone).
   */
  async touch(repository: string, digests: readonly string[]): Promise<string[]> {
    if (digests.length === 0) return [];
    const missing = await this.touchEach(repository, digests);
    if (missing.length === digests.length || !(await this.gcRecentlyActive(repository))) return missing;
    const lockDir = await this.folders.lockDir(repository);
    if (!lockDir) return [...digests];
    return this.locks.run(repository, lockDir, () => this.touchEach(repository, digests));
  }

  async mount(fromRepository: string, toRepository: string, digest: string): Promise<boolean> {
    try {
      return await this.link(fromRepository, toRepository, digest);
    } finally {
      this.forgetSize(toRepository, digest);
    }
  }

  async list(repository: string): Promise<BlobEntry[]> {
    const blobsDir = join(this.paths.repository(repository), 'blobs');
    const entries: BlobEntry[] = [];
    for (const algorithm of await listDir(blobsDir)) {
      if (!Object.hasOwn(DigestAlgorithms, algorithm)) continue;
      const dir = join(blobsDir, algorithm);
      for (const hex of await listDir(dir)) {
        const digest = `${algorithm}:${hex}`;
        if (!tryParseDigest(digest)) continue; // stray files are not blobs
        const info = await stat(join(dir, hex)).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
        if (info?.isFile()) entries.push({ digest, size: info.size, modifiedAt: info.mtime });
      }
    }
    return entries;
  }

  private async write(repository: string, digest: string, data: Uint8Array): Promise<void> {
    await this.folders.ensure(repository);
    const target = this.paths.blob(repository, digest);
    // Content-addressed: same name, same bytes. Refresh it instead (atomically with gc's delete).
    if ((await this.stat(repository, digest)) === data.length && (await this.touch(repository, [digest])).length === 0) return;
    const uploads = this.paths.uploads(repository);
    await ensureDir(this.paths.blobDir(repository, digest.slice(0, digest.indexOf(':'))));
    if (!this.options.dedupe) {
      await writeFileAtomic(target, data, uploads, this.options.durable);
      return;
    }
    const temp = join(uploads, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      await writeFileDurable(temp, data, this.options.durable);
      await this.store.place(digest, temp, data.length, target, uploads);
    } finally {
      await rm(temp, { force: true });
    }
    // The repository's link is what must survive a crash; the store's entry is only an index.
    if (this.options.durable) await syncDir(dirname(target));
  }

  private async remove(repository: string, digest: string, options: DeleteBlobOptions): Promise<boolean> {
    const file = this.paths.blob(repository, digest);
    const cutoff = options.unmodifiedSince;
    const remove = async (): Promise<boolean> => {
      try {
        if (cutoff) {
          const info = await stat(file);
          if (info.mtime.getTime() > cutoff.getTime()) return false; // touched since: in use
        }
        await unlink(file);
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
      if (this.options.dedupe) await this.store.release(digest);
      return true;
    };
    if (!cutoff) return remove();
    const lockDir = await this.folders.lockDir(repository);
    if (!lockDir) return false;
    // Announce it before looking at the blob: touches from now on take the locked path.
    await writeFile(join(lockDir, GC_MARKER), '');
    // Under the blob lock, so that no locked touch lands between the check and the unlink.
    return this.locks.run(repository, lockDir, remove);
  }

  private async touchEach(repository: string, digests: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    await Promise.all(
      digests.map(async (digest) => {
        try {
          await touch(this.paths.blob(repository, digest));
        } catch (err) {
          if (isNotFound(err)) missing.push(digest);
          else throw err;
        }
      }),
    );
    return missing;
  }

  private async gcRecentlyActive(repository: string): Promise<boolean> {
    try {
      const info = await stat(join(this.paths.uploads(repository), GC_MARKER));
      return info.mtime.getTime() > Date.now() - GC_MARKER_WINDOW_MS;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async link(fromRepository: string, toRepository: string, digest: string): Promise<boolean> {
    const source = this.paths.blob(fromRepository, digest);
    if ((await this.stat(fromRepository, digest)) === undefined) return false;
    await this.folders.ensure(toRepository);
    await ensureDir(this.paths.blobDir(toRepository, digest.slice(0, digest.indexOf(':'))));
    const temp = join(this.paths.uploads(toRepository), `.mount-${randomBytes(8).toString('hex')}`);
    try {
      // A hard link shares the bytes (no copy); a copy is the fallback across filesystems.
      await link(source, temp).catch(async (err: unknown) => {
        if (isNotFound(err)) throw err;
        await copyFile(source, temp);
      });
      // A link shares the inode's modification time: make it now, or gc would see an old blob here.
      await touch(temp);
      await rename(temp, this.paths.blob(toRepository, digest));
    } catch (err) {
      await rm(temp, { force: true });
      if (isNotFound(err)) return false; // deleted from `from` meanwhile
      throw err;
    }
    if (this.options.durable) await syncDir(this.paths.blobDir(toRepository, digest.slice(0, digest.indexOf(':'))));
    return true;
  }
}

/**
 * A blob file's version token. Any write through the filesystem (even one restoring the mtime)
 * moves ctime; a hard-linked copy in another repository shares the inode, so it shares the
 * version too.
 */
export function versionToken(info: BigIntStats): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}
