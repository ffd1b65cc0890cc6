/**
 * The reference backend: a complete {@link RegistryStorage} that keeps everything in memory. Read
 * it to learn how to write a backend; it passes the contract kit like every backend.
 *
 * Core does the hard parts (digest verification, manifests, tags, referrers, pagination); a
 * backend only stores four kinds of things per repository:
 *   - the index (an OCI image-layout `index.json`: which manifests exist, which tags point where),
 *   - blobs, by digest (layers, configs, and the manifests' own bytes),
 *   - upload sessions (bytes received so far for a blob being pushed),
 *   - and the fact that the repository exists.
 * It may also offer optional capabilities (storage-capabilities.ts); this one reports usage.
 *
 * Prove a backend with the contract test kit:
 *
 *   import { MemoryStorage, runStorageContract } from '@zotjs/core/testing';
 *   runStorageContract('memory', async () => ({ storage: new MemoryStorage() }));
 *
 * Not for production: nothing survives a restart, and every blob sits in RAM. Core's own tests
 * run on it, and subclass it to break one rule at a time (hence the protected members).
 */
import { addAbortSignal, Readable } from 'node:stream';
import { RegistryError } from '../errors.js';
import type { RepositoryUsage, StorageCapabilities, UsageReporting } from '../storage-capabilities.js';
import {
  UploadOffsetError,
  emptyIndex,
  type BlobEntry,
  type DeleteBlobOptions,
  type IndexUpdate,
  type ReadBlobOptions,
  type RegistryStorage,
  type RepositoryIndex,
  type UploadEntry,
  type UploadInfo,
} from '../storage.js';

export interface MemoryRepository {
  index: RepositoryIndex;
  /** Blob bytes by digest. Buffers are never modified once stored, so repositories may share one. */
  blobs: Map<string, Buffer>;
  /** When each blob was stored here (garbage collection's grace period reads it). */
  blobTimes: Map<string, Date>;
  uploads: Map<string, MemoryUpload>;
}

export interface MemoryUpload {
  chunks: Buffer[];
  size: number;
  startedAt: Date;
  /** When data was last appended (abandoned sessions are expired by it). */
  modifiedAt: Date;
}

/** What a set of {@link MemoryStorage} instances share; pass one to several instances to model replicas. */
export type MemoryData = Map<string, MemoryRepository>;

export class MemoryStorage implements RegistryStorage, UsageReporting {
  /** Optional capabilities: this backend can say what each repository holds (the storage gauges). */
  readonly capabilities: StorageCapabilities = { usage: this };

  /**
   * @param repositories the state; give two instances the same map and they behave like two
   *   processes sharing one storage (the contract kit's `sharedStorage` tests use this).
   */
  constructor(protected readonly repositories: MemoryData = new Map()) {}

  async listRepositories(): Promise<string[]> {
    return [...this.repositories.keys()];
  }

  async readIndex(repository: string): Promise<RepositoryIndex | undefined> {
    const repo = this.repositories.get(repository);
    // Hand out copies: a caller editing what it got must not change what is stored.
    return repo ? structuredClone(repo.index) : undefined;
  }

  async updateIndex(repository: string, update: IndexUpdate): Promise<RepositoryIndex> {
    // JavaScript runs this synchronous read-modify-write without interruption, which is all the
    // atomicity needed here. A backend with real I/O needs a lock or a compare-and-swap loop
    // (read, update, write-if-unchanged, retry): that is why `update` must be pure.
    const repo = this.repository(repository);
    const next = update(structuredClone(repo.index));
    if (next) repo.index = structuredClone(next);
    return structuredClone(repo.index);
  }

  async statBlob(repository: string, digest: string): Promise<number | undefined> {
    return this.repositories.get(repository)?.blobs.get(digest)?.length;
  }

  async readBlob(repository: string, digest: string, options: ReadBlobOptions = {}): Promise<Readable | undefined> {
    const blob = this.repositories.get(repository)?.blobs.get(digest);
    if (!blob) return undefined;
    // Ranges are inclusive on both ends, like HTTP's `Range: bytes=start-end`.
    const bytes = options.range ? blob.subarray(options.range.start, options.range.end + 1) : blob;
    const stream = Readable.from(chunksOf(bytes));
    return options.signal ? addAbortSignal(options.signal, stream) : stream;
  }

  async putBlob(repository: string, digest: string, data: Uint8Array): Promise<void> {
    const repo = this.repository(repository);
    repo.blobs.set(digest, Buffer.from(data));
    repo.blobTimes.set(digest, new Date());
  }

  async deleteBlob(repository: string, digest: string, options: DeleteBlobOptions = {}): Promise<boolean> {
    const repo = this.repositories.get(repository);
    // Check and delete in one synchronous step: no touch can land in between.
    const modified = repo?.blobTimes.get(digest);
    if (options.unmodifiedSince && modified && modified.getTime() > options.unmodifiedSince.getTime()) return false;
    repo?.blobTimes.delete(digest);
    return repo?.blobs.delete(digest) ?? false;
  }

  async touchBlobs(repository: string, digests: readonly string[]): Promise<string[]> {
    const repo = this.repositories.get(repository);
    const now = new Date();
    const missing: string[] = [];
    for (const digest of digests) {
      if (repo?.blobs.has(digest)) repo.blobTimes.set(digest, now);
      else missing.push(digest);
    }
    return missing;
  }

  async mountBlob(fromRepository: string, toRepository: string, digest: string): Promise<boolean> {
    const blob = this.repositories.get(fromRepository)?.blobs.get(digest);
    if (!blob) return false;
    // Share the bytes, copy nothing (a filesystem would hard-link, an object store copy server-side).
    const target = this.repository(toRepository);
    target.blobs.set(digest, blob);
    target.blobTimes.set(digest, new Date());
    return true;
  }

  async createUpload(repository: string, uploadId: string): Promise<void> {
    this.repository(repository).uploads.set(uploadId, { chunks: [], size: 0, startedAt: new Date(), modifiedAt: new Date() });
  }

  async statUpload(repository: string, uploadId: string): Promise<UploadInfo | undefined> {
    const upload = this.repositories.get(repository)?.uploads.get(uploadId);
    return upload ? { size: upload.size, startedAt: upload.startedAt, modifiedAt: upload.modifiedAt } : undefined;
  }

  async appendUpload(repository: string, uploadId: string, offset: number, data: Readable, signal?: AbortSignal): Promise<number> {
    const upload = this.upload(repository, uploadId);
    // A wrong offset means the client and the registry disagree about what was received: refuse
    // before reading anything, so nothing is written.
    if (offset !== upload.size) throw new UploadOffsetError(upload.size, offset);
    const received: Buffer[] = [];
    for await (const chunk of data) {
      signal?.throwIfAborted();
      received.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
    }
    // The session may have been committed or deleted, or another append may have landed, while
    // this one was reading its stream: look again, and add the chunk only if it still goes at the
    // end of the same session (all or nothing).
    if (this.upload(repository, uploadId) !== upload) throw new UploadOffsetError(0, offset); // a new session under this id
    if (offset !== upload.size) throw new UploadOffsetError(upload.size, offset);
    for (const chunk of received) {
      upload.chunks.push(chunk);
      upload.size += chunk.length;
    }
    upload.modifiedAt = new Date();
    return upload.size;
  }

  async readUpload(repository: string, uploadId: string, signal?: AbortSignal): Promise<Readable> {
    const stream = Readable.from(this.upload(repository, uploadId).chunks.slice());
    return signal ? addAbortSignal(signal, stream) : stream;
  }

  async commitUpload(repository: string, uploadId: string, digest: string, size: number): Promise<string | void> {
    const repo = this.repository(repository);
    const upload = this.upload(repository, uploadId);
    // `size` is what core hashed: a session that grew since then holds unverified bytes.
    if (upload.size !== size) throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload data changed after it was verified');
    // Core has already checked that the bytes hash to `digest`. One synchronous step makes the
    // blob visible and ends the session: nobody can see a half-made blob.
    repo.blobs.set(digest, Buffer.concat(upload.chunks, upload.size));
    repo.blobTimes.set(digest, new Date());
    repo.uploads.delete(uploadId);
  }

  async deleteUpload(repository: string, uploadId: string): Promise<boolean> {
    return this.repositories.get(repository)?.uploads.delete(uploadId) ?? false;
  }

  async listBlobs(repository: string): Promise<BlobEntry[]> {
    const repo = this.repositories.get(repository);
    if (!repo) return [];
    return [...repo.blobs].map(([digest, data]) => ({ digest, size: data.length, modifiedAt: repo.blobTimes.get(digest) ?? new Date(0) }));
  }

  async listUploads(repository: string): Promise<UploadEntry[]> {
    const repo = this.repositories.get(repository);
    if (!repo) return [];
    return [...repo.uploads].map(([uploadId, upload]) => ({
      uploadId,
      size: upload.size,
      startedAt: upload.startedAt,
      modifiedAt: upload.modifiedAt,
    }));
  }

  /**
   * The `usage` capability. A mounted blob shares its bytes with the source repository, so both
   * name it by the same identity (the buffer's), and a total counts it once.
   */
  async repositoryUsage(repository: string): Promise<RepositoryUsage | undefined> {
    const repo = this.repositories.get(repository);
    if (!repo) return undefined;
    const stored = new Map<string, number>([[`${repository}/index.json`, Buffer.byteLength(JSON.stringify(repo.index))]]);
    for (const blob of repo.blobs.values()) stored.set(bufferIdentity(blob), blob.length);
    return { stored, uploadSessions: repo.uploads.size };
  }

  /** The repository, created on first use (uploads, blobs and index updates create repositories). */
  protected repository(name: string): MemoryRepository {
    let repo = this.repositories.get(name);
    if (!repo) {
      repo = { index: emptyIndex(), blobs: new Map(), blobTimes: new Map(), uploads: new Map() };
      this.repositories.set(name, repo);
    }
    return repo;
  }

  protected upload(repository: string, uploadId: string): MemoryUpload {
    const upload = this.repositories.get(repository)?.uploads.get(uploadId);
    if (!upload) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
    return upload;
  }
}

/** Serves a blob in 64 KiB pieces, as a file or network backend would, rather than as one huge chunk. */
function* chunksOf(bytes: Buffer): Generator<Buffer> {
  for (let start = 0; start < bytes.length; start += 65536) yield bytes.subarray(start, start + 65536);
}

// One number per stored buffer, so repositories sharing a buffer report one identity for it.
const identities = new WeakMap<Buffer, string>();
let nextIdentity = 0;

function bufferIdentity(blob: Buffer): string {
  let identity = identities.get(blob);
  if (identity === undefined) {
    identity = `buffer-${nextIdentity++}`;
    identities.set(blob, identity);
  }
  return identity;
}
