import { LruCache } from '../util/lru.js';
import type { CorruptContentError } from '../util/verifying-stream.js';
import type { CorruptContentEvent } from './types.js';

/**
 * What reads have learnt about stored blobs: which ones hash wrong (refused up front from then on,
 * until written again) and which ones hashed right at a given storage version (served unhashed
 * while that version holds; scrub is what re-reads the disk itself). Shared by blob reads,
 * manifest reads and upload commits, which all learn or change this.
 */
export class BlobIntegrity {
  // Blobs found corrupt while being read: blob key -> what they hashed to.
  private readonly corrupt = new LruCache<string, string>(16384);
  // The storage's blob version of each blob whose full read (or upload) hashed correctly.
  private readonly verified = new LruCache<string, string>(65536);

  constructor(private readonly onCorruptContent: ((event: CorruptContentEvent) => void) | undefined) {}

  isCorrupt(repository: string, digest: string): boolean {
    return this.corrupt.get(blobKey(repository, digest)) !== undefined;
  }

  markCorrupt(repository: string, err: CorruptContentError): void {
    this.corrupt.set(blobKey(repository, err.expected), err.actual);
    this.verified.delete(blobKey(repository, err.expected));
    this.onCorruptContent?.({ repository, digest: err.expected, actual: err.actual });
  }

  /** The blob was written again (push, mount, manifest put): whatever was corrupt is replaced. */
  written(repository: string, digest: string): void {
    this.corrupt.delete(blobKey(repository, digest));
  }

  /** The blob's bytes at storage version `version` hashed to its digest. */
  markVerified(repository: string, digest: string, version: string): void {
    this.verified.set(blobKey(repository, digest), version);
  }

  isVerified(repository: string, digest: string, version: string): boolean {
    return this.verified.get(blobKey(repository, digest)) === version;
  }
}

function blobKey(repository: string, digest: string): string {
  return `${repository}\u0000${digest}`;
}
