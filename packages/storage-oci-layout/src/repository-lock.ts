import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { KeyedMutex } from '@zotjs/core';

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
      const release = await lockfile.lock(join(uploadsDir, this.lockName), {
        lockfilePath: join(uploadsDir, this.lockName),
        realpath: false,
        stale: this.staleMs,
        retries: { retries: 2000, minTimeout: 1, maxTimeout: 25, factor: 1.5 },
        // The default throws from a timer (a crash) when the lock's refresh came late, for example
        // after a long event-loop stall; the work in progress is better finished than killed.
        onCompromised: () => undefined,
      });
      try {
        return await work();
      } finally {
        await release().catch(() => undefined); // already released (stale takeover) is not our problem
      }
    });
  }
}
