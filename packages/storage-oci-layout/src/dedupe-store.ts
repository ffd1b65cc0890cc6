import { randomBytes } from 'node:crypto';
import { link, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DigestAlgorithms, tryParseDigest } from '@zotjs/core';
import { ensureDir, errorCode, isNotFound, listDir, touch } from './fs-util.js';
import type { LayoutPaths } from './paths.js';

/**
 * Deduplication with hard links, as zot does on a local filesystem: identical blobs in different
 * repositories share one inode. `_blobstore/<alg>/<hex>` keeps one link to each deduplicated
 * blob, so a new copy finds an existing one in a single `link` call; every repository still has
 * its own regular file `blobs/<alg>/<hex>` (a valid OCI image layout that skopeo and umoci read),
 * and removing it from one repository leaves the others untouched.
 */
export class DedupeStore {
  constructor(private readonly paths: LayoutPaths) {}

  /**
   * Makes `target` the blob `digest`, from `source`: a complete, verified file of `size` bytes on
   * the same filesystem, which the caller removes afterwards. When the store already holds the
   * digest, `target` becomes a link to that copy and `source`'s bytes are not kept. The blob's
   * modification time is now (garbage collection's grace period starts again).
   */
  async place(digest: string, source: string, size: number, target: string, tempDir: string): Promise<void> {
    const stored = this.paths.storeBlob(digest);
    await ensureDir(dirname(stored));
    // A few rounds: another process may remove an unused store entry between our two links.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(source, stored);
      } catch (err) {
        const code = errorCode(err);
        if (code === 'EXDEV' || code === 'EPERM' || code === 'EMLINK') break; // no hard links here: own copy
        if (code !== 'EEXIST') throw err;
        const info = await stat(stored).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
        if (!info) continue;
        if (info.size !== size) {
          // A damaged store copy is not handed out again; repositories already linked to it keep
          // it (the scrub names them).
          await unlink(stored).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
          continue;
        }
      }
      const temp = join(tempDir, `.tmp-${randomBytes(8).toString('hex')}`);
      try {
        await link(stored, temp);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      try {
        await touch(temp);
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      return; // the caller syncs the target's folder; the store entry is only an index
    }
    await rename(source, target);
    await touch(target);
  }

  /** After a repository dropped its copy: removes the store's link once nobody else holds the blob. */
  async release(digest: string): Promise<void> {
    const stored = this.paths.storeBlob(digest);
    try {
      const info = await stat(stored);
      if (info.nlink === 1) await unlink(stored);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Removes store entries no repository links to any more (left by a crash between two links,
   * or by a delete racing a push) that were last linked before `olderThan`. Resolves to how many.
   */
  async sweep(olderThan: Date): Promise<number> {
    let removed = 0;
    for (const algorithm of await listDir(this.paths.store)) {
      if (!Object.hasOwn(DigestAlgorithms, algorithm)) continue;
      const dir = join(this.paths.store, algorithm);
      for (const hex of await listDir(dir)) {
        if (!tryParseDigest(`${algorithm}:${hex}`)) continue;
        const file = join(dir, hex);
        const info = await stat(file).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
        if (info && info.nlink === 1 && info.mtime.getTime() < olderThan.getTime()) {
          await unlink(file).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
          removed += 1;
        }
      }
    }
    return removed;
  }
}
