import { readFile } from 'node:fs/promises';
import { emptyIndex, parseIndex, type IndexUpdate, type RepositoryIndex } from '@zotjs/core';
import type { DirectoryWatch } from './directory-watch.js';
import { isNotFound, statNow, writeFileAtomic } from './fs-util.js';
import type { LayoutPaths } from './paths.js';
import type { RepositoryFolders } from './repository-folders.js';
import { RepositoryLocks } from './repository-lock.js';

interface CachedIndex {
  checkedAt: number;
  /** The repository folder's watch generation when this was read (undefined: not watched). */
  generation: number | undefined;
  ino: number;
  mtimeMs: number;
  size: number;
  index: RepositoryIndex;
}

export interface IndexFilesOptions {
  durable: boolean;
  /** How long a cached index is trusted without a stat when the folder is not watched. */
  revalidateMs: number;
  watch: DirectoryWatch | undefined;
}

/**
 * Each repository's `index.json`: read through a cache (a manifest GET reads it on every
 * request), and updated under a lock that holds across processes, written atomically (temporary
 * file, fsync, rename), so concurrent tag pushes never lose one another.
 */
export class IndexFiles {
  private readonly locks = new RepositoryLocks();
  // Parsed index.json per repository, trusted while the file's inode/mtime/size are unchanged:
  // every write is a rename, so any writer (even another process) changes the inode.
  private readonly cache = new Map<string, CachedIndex>();

  constructor(
    private readonly paths: LayoutPaths,
    private readonly folders: RepositoryFolders,
    private readonly options: IndexFilesOptions,
  ) {}

  read(repository: string): Promise<RepositoryIndex | undefined> {
    return this.load(repository, false);
  }

  async update(repository: string, update: IndexUpdate): Promise<RepositoryIndex> {
    await this.folders.ensure(repository);
    return this.locks.run(repository, this.paths.uploads(repository), async () => {
      // Under the lock, always from the file: another process may have written it just now.
      const current = (await this.load(repository, true)) ?? emptyIndex();
      const next = update(current);
      if (!next) return current;
      const file = this.paths.index(repository);
      await writeFileAtomic(file, JSON.stringify(next), this.paths.uploads(repository), this.options.durable);
      const info = statNow(file);
      // The generation from before this write: the event it raises only causes one more stat.
      const generation = this.options.watch?.generation(this.paths.repository(repository));
      if (info)
        this.cache.set(repository, {
          ino: info.ino,
          mtimeMs: info.mtimeMs,
          size: info.size,
          index: next,
          checkedAt: performance.now(),
          generation,
        });
      return next;
    });
  }

  /**
   * The parsed index.json. On this kind of storage even a stat costs more than the rest of a
   * manifest GET, so a cached copy is trusted while the folder's watch reports no change (or for
   * `revalidateMs` when not watched); after that (or when `fresh`) the file's inode/mtime/size decide.
   */
  private async load(repository: string, fresh: boolean): Promise<RepositoryIndex | undefined> {
    const now = performance.now();
    const cached = this.cache.get(repository);
    const generation = this.options.watch?.generation(this.paths.repository(repository));
    if (cached && !fresh) {
      // Watched: the watch decides. Not watched: the file is trusted for revalidateMs.
      if (generation !== undefined ? cached.generation === generation : now - cached.checkedAt < this.options.revalidateMs)
        return cached.index;
    }
    const file = this.paths.index(repository);
    const info = statNow(file);
    if (!info) {
      this.cache.delete(repository);
      return undefined;
    }
    if (cached && cached.ino === info.ino && cached.mtimeMs === info.mtimeMs && cached.size === info.size) {
      cached.checkedAt = now;
      cached.generation = generation;
      return cached.index;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const index = parseIndex(text, repository);
    this.cache.set(repository, { ino: info.ino, mtimeMs: info.mtimeMs, size: info.size, index, checkedAt: now, generation });
    return index;
  }
}
