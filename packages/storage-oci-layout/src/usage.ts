import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidUploadId, type RepositoryUsage } from '@zotjs/core';
import { isNotFound, listDir } from './fs-util.js';
import type { LayoutPaths } from './paths.js';

const STAT_BATCH = 64;

/**
 * What one repository holds on disk: its `index.json`, `oci-layout` and blob files by inode
 * (`dev:ino`), so that a blob hard-linked into several repositories (mounts, dedupe) is counted
 * once in a total, and its upload sessions. Undefined when the repository does not exist.
 */
export async function measureRepository(paths: LayoutPaths, repository: string): Promise<RepositoryUsage | undefined> {
  const dir = paths.repository(repository);
  const stored = new Map<string, number>();
  const index = await statFile(join(dir, 'index.json'));
  if (!index) return undefined;
  stored.set(index.key, index.size);
  const layout = await statFile(join(dir, 'oci-layout'));
  if (layout) stored.set(layout.key, layout.size);
  for (const algorithm of await listDir(join(dir, 'blobs'))) {
    const algDir = join(dir, 'blobs', algorithm);
    const names = await listDir(algDir);
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      const stats = await Promise.all(names.slice(i, i + STAT_BATCH).map((name) => statFile(join(algDir, name))));
      for (const file of stats) if (file) stored.set(file.key, file.size);
    }
  }
  const uploadSessions = (await listDir(join(dir, '.uploads'))).filter(isValidUploadId).length;
  return { stored, uploadSessions };
}

async function statFile(path: string): Promise<{ key: string; size: number } | undefined> {
  try {
    const info = await lstat(path, { bigint: true });
    return info.isFile() ? { key: `${info.dev}:${info.ino}`, size: Number(info.size) } : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
