// Test support: the reference in-memory storage with a few levers for tests. Its clock can be
// turned back per blob (to make blobs "old"), its bytes damaged (to make them corrupt), and what it
// holds looked at directly.
import { MemoryStorage } from '../../src/testing/index.js';

export class AgingStorage extends MemoryStorage {
  /** Moves the modification time of the repository's blobs (all, or these) `ms` into the past. */
  age(repository: string, ms: number, digests?: readonly string[]): void {
    const repo = this.repositories.get(repository);
    if (!repo) throw new Error(`no repository ${repository}`);
    for (const [digest, time] of repo.blobTimes) {
      if (!digests || digests.includes(digest)) repo.blobTimes.set(digest, new Date(time.getTime() - ms));
    }
  }

  /** Ages every repository's blobs and upload sessions. */
  ageAll(ms: number): void {
    for (const [name, repo] of this.repositories) {
      this.age(name, ms);
      for (const upload of repo.uploads.values()) {
        upload.startedAt = new Date(upload.startedAt.getTime() - ms);
        upload.modifiedAt = new Date(upload.modifiedAt.getTime() - ms);
      }
    }
  }

  /** Replaces a stored blob's bytes (same length, different content): bit rot. */
  corrupt(repository: string, digest: string): void {
    const repo = this.repositories.get(repository);
    const blob = repo?.blobs.get(digest);
    if (!repo || !blob) throw new Error(`no blob ${digest} in ${repository}`);
    const damaged = Buffer.from(blob);
    const at = damaged.length >> 1;
    damaged[at] = (damaged[at] ?? 0) ^ 0xff;
    repo.blobs.set(digest, damaged);
  }

  blobDigests(repository: string): string[] {
    return [...(this.repositories.get(repository)?.blobs.keys() ?? [])].sort();
  }

  has(repository: string, digest: string): boolean {
    return this.repositories.get(repository)?.blobs.has(digest) ?? false;
  }

  /** How many upload sessions the repository has open. */
  sessionCount(repository: string): number {
    return this.repositories.get(repository)?.uploads.size ?? 0;
  }
}
