import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DedupeStore } from './dedupe-store.js';
import { isNotFound, listDir } from './fs-util.js';
import type { LayoutPaths } from './paths.js';
import { SESSION_LOCK_PREFIX } from './repository-lock.js';

/** Prefixes of the temporary files atomic writes and mounts create in `.uploads/`. */
const TEMP_PREFIXES = ['.tmp-', '.mount-'];

/**
 * Removes temporary files and session lock folders that a crash left in the repositories'
 * `.uploads/` (never a session: those expire through garbage collection), and deduplication
 * store entries no repository links to any more, when older than `olderThan`. Resolves to how many.
 */
export async function removeLeftovers(
  paths: LayoutPaths,
  repositories: readonly string[],
  store: DedupeStore,
  olderThan: Date,
): Promise<number> {
  let removed = 0;
  for (const repository of repositories) {
    const uploads = paths.uploads(repository);
    for (const name of await listDir(uploads)) {
      const temporary = TEMP_PREFIXES.some((prefix) => name.startsWith(prefix));
      if (!temporary && !name.startsWith(SESSION_LOCK_PREFIX)) continue;
      const file = join(uploads, name);
      const info = await stat(file).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
      if (!info || info.mtime.getTime() >= olderThan.getTime()) continue;
      // A session's lock folder is refreshed while held: an old one was left by a killed process.
      if (temporary ? info.isFile() : info.isDirectory()) {
        await rm(file, { force: true, recursive: !temporary });
        removed += 1;
      }
    }
  }
  return removed + (await store.sweep(olderThan));
}
