import type { Bucket } from './bucket.js';
import { TOUCH_PREFIX, UPLOADS, type KeyLayout } from './keys.js';
import { mapLimit } from './s3-util.js';

/** A multipart upload inside an upload session's folder belongs to the session (listUploads reports it). */
const SESSION_MULTIPART = /\/\.uploads\/[0-9a-f-]{36}\//;

/**
 * Removes what interrupted work left behind, when older than `olderThan`: markers of garbage
 * collections that died mid-delete, touch records of deleted blobs, scratch objects of the
 * conditional-write and health probes, and multipart uploads outside upload sessions (a large copy
 * cut short). Sessions themselves are listUploads' job. Resolves to how many were removed.
 */
export async function removeLeftovers(
  bucket: Bucket,
  keys: KeyLayout,
  repositories: readonly string[],
  blobExists: (repository: string, digest: string) => Promise<boolean>,
  olderThan: Date,
): Promise<number> {
  const stale: string[] = [];
  const prefixes = [`${keys.root}${UPLOADS}/`, ...repositories.map((r) => `${keys.uploads(r)}gc-`)];
  for (const prefix of prefixes) {
    for (const o of await bucket.list(prefix)) {
      const name = o.key.slice(prefix.lastIndexOf('/') + 1);
      const leftover = name.startsWith('gc-') || name.startsWith('probe-');
      if (leftover && o.modified < olderThan) stale.push(o.key);
    }
  }
  // Touch records of blobs deleted meanwhile (a touch that lost the race to a garbage collection).
  for (const repository of repositories) {
    const prefix = `${keys.uploads(repository)}${TOUCH_PREFIX}`;
    const old = (await bucket.list(prefix)).filter((o) => o.modified < olderThan);
    const orphaned = await mapLimit(old, 8, async (o) => !(await blobExists(repository, o.key.slice(prefix.length).replace('-', ':'))));
    stale.push(...old.filter((_, i) => orphaned[i]).map((o) => o.key));
  }
  await bucket.deleteKeys(stale);
  const multiparts = await bucket.listMultiparts(keys.root);
  const orphans = multiparts.filter((m) => !SESSION_MULTIPART.test(m.key) && m.initiated < olderThan);
  await mapLimit(orphans, 8, (m) => bucket.abortMultipart(m.key, m.uploadId));
  return stale.length + orphans.length;
}
