import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { KeyedMutex } from '@zotjs/core';

/** proper-lockfile's options for the lock folder `path`; `retries` 0 fails at once when it is held. */
function lockOptions(path: string, staleMs: number, retries: number): lockfile.LockOptions {
  return {
    lockfilePath: path,
    realpath: false,
    stale: staleMs,
    retries: retries === 0 ? 0 : { retries, minTimeout: 1, maxTimeout: 25, factor: 1.5 },
    // The default throws from a timer (a crash) when the lock's refresh came late, for example
    // after a long event-loop stall; the work in progress is better finished than killed.
    onCompromised: () => undefined,
  };
}

async function releasing<T>(release: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    await release().catch(() => undefined); // already released (stale takeover) is not our problem
  }
}

/**
 * Serializes one kind of change to a repository across every process that shares the storage
 * folder (replicas on one host, `zot-cli gc` beside a running server): an in-process mutex
 * first, so only one request per process waits on the filesystem, then a lock folder in
 * `.uploads/` (mkdir is atomic). A lock left by a killed process goes stale after `staleMs`
 * because its owner stops refreshing it. `index.lock` guards index.json updates, `blobs.lock`
 * makes touching a blob and garbage collection's conditional delete of it mutually exclusive.
 */
export class RepositoryLocks {
  private readonly local = new KeyedMutex();

  constructor(
    private readonly staleMs = 5000,
    private readonly lockName = 'index.lock',
  ) {}

  run<T>(repository: string, uploadsDir: string, work: () => Promise<T>): Promise<T> {
    return this.local.run(repository, async () => {
      // proper-lockfile keys its own bookkeeping by this path: one per kind of lock.
      const path = join(uploadsDir, this.lockName);
      return releasing(await lockfile.lock(path, lockOptions(path, this.staleMs, 2000)), work);
    });
  }
}

/** Prefix of an upload session's lock folder in `.uploads/` (`.lock-<upload id>`). */
export const SESSION_LOCK_PREFIX = '.lock-';

/**
 * Runs `work` holding the lock folder `path`, or `busy` at once when another request (in any
 * process sharing the storage) holds it. An upload session is written by one request at a time:
 * a second append or a commit arriving meanwhile is out of order, and waiting for the first
 * (a client may take minutes to send a chunk) would only delay the same answer.
 */
export async function unlessLocked<T>(path: string, staleMs: number, work: () => Promise<T>, busy: () => Promise<T>): Promise<T> {
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, lockOptions(path, staleMs, 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return busy();
    throw err;
  }
  return releasing(release, work);
}
