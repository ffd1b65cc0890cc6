import { statSync, watch, type FSWatcher } from 'node:fs';

interface Watched {
  watcher: FSWatcher;
  generation: number;
  /** When it was last asked for, on the `uses` counter (for evicting the least recently used). */
  used: number;
}

/**
 * Change counters for folders, kept by inotify watches (fs.watch): a folder's generation moves
 * whenever an entry in it is created, renamed, removed or written, by this process or any other
 * on the same machine. A cache entry remembered with a generation is current while the
 * generation is unchanged, without a stat: on this kind of machine a stat costs more than
 * the rest of a manifest GET.
 *
 * Network filesystems raise no events for other hosts' changes: turn watching off there.
 */
export class DirectoryWatch {
  private readonly watched = new Map<string, Watched>();
  // Generations come from one counter, so a folder watched again never repeats an old value.
  private clock = 0;
  private uses = 0;

  /** `maxFolders` bounds the inotify watches held (least recently used ones are closed). */
  constructor(private readonly maxFolders = 4096) {}

  /**
   * The folder's generation, watching it from now on; undefined when it cannot be watched (it
   * does not exist, or the watch limit of the system is reached): callers then check the files.
   * Take the generation before reading what it will vouch for.
   */
  generation(dir: string): number | undefined {
    const found = this.watched.get(dir);
    if (found) {
      found.used = ++this.uses;
      return found.generation;
    }
    let watcher: FSWatcher;
    let inode: number;
    try {
      inode = statSync(dir).ino;
      // persistent: false, so watches never keep the process alive.
      watcher = watch(dir, { persistent: false });
    } catch {
      return undefined;
    }
    const entry: Watched = { watcher, generation: ++this.clock, used: ++this.uses };
    watcher.on('change', (eventType) => {
      entry.generation = ++this.clock;
      // The folder itself removed or replaced (a repository deleted and pushed again): the
      // watch follows the old inode and would see nothing more, so a new one is made next time.
      if (eventType === 'rename' && statSync(dir, { throwIfNoEntry: false })?.ino !== inode) this.forget(dir, entry);
    });
    watcher.on('error', () => this.forget(dir, entry));
    this.watched.set(dir, entry);
    if (this.watched.size > this.maxFolders) this.evictLeastRecentlyUsed();
    return entry.generation;
  }

  /** Stops every watch (the storage is being closed). */
  close(): void {
    for (const [dir, entry] of [...this.watched]) this.forget(dir, entry);
  }

  // A scan, but only when a new folder is watched past the limit: asking costs no reordering.
  private evictLeastRecentlyUsed(): void {
    let oldest: [string, Watched] | undefined;
    for (const item of this.watched) if (!oldest || item[1].used < oldest[1].used) oldest = item;
    if (oldest) this.forget(oldest[0], oldest[1]);
  }

  private forget(dir: string, entry: Watched): void {
    entry.watcher.close();
    if (this.watched.get(dir) === entry) this.watched.delete(dir);
  }
}
