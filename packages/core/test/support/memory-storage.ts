// An in-memory RegistryStorage for core's own tests (core's tests must not depend on examples/,
// which has the commented teaching version of the same thing).
import { addAbortSignal, Readable } from 'node:stream';
import {
  RegistryError,
  UploadOffsetError,
  emptyIndex,
  type IndexUpdate,
  type ReadBlobOptions,
  type RegistryStorage,
  type RepositoryIndex,
  type UploadInfo,
  type BlobEntry,
  type DeleteBlobOptions,
  type UploadEntry,
} from '../../src/index.js';

export interface MemoryRepository {
  index: RepositoryIndex;
  blobs: Map<string, Buffer>;
  blobTimes: Map<string, Date>;
  uploads: Map<string, { chunks: Buffer[]; size: number; startedAt: Date; modifiedAt: Date }>;
}

export class MemoryStorage implements RegistryStorage {
  constructor(protected readonly repositories: Map<string, MemoryRepository> = new Map()) {}

  async listRepositories(): Promise<string[]> {
    return [...this.repositories.keys()];
  }

  async readIndex(repository: string): Promise<RepositoryIndex | undefined> {
    const repo = this.repositories.get(repository);
    return repo ? structuredClone(repo.index) : undefined;
  }

  async updateIndex(repository: string, update: IndexUpdate): Promise<RepositoryIndex> {
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
    if (offset !== upload.size) throw new UploadOffsetError(upload.size, offset);
    const received: Buffer[] = [];
    for await (const chunk of data) {
      signal?.throwIfAborted();
      received.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
    }
    // Looked up again: the session may have been committed or deleted while the data arrived.
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
    if (upload.size !== size) throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload data changed after it was verified');
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
    return [...repo.uploads].map(([uploadId, upload]) => ({ uploadId, size: upload.size, startedAt: upload.startedAt, modifiedAt: upload.modifiedAt }));
  }

  /** For tests: how many upload sessions the repository has open. */
  sessionCount(repository: string): number {
    return this.repositories.get(repository)?.uploads.size ?? 0;
  }

  protected repository(name: string): MemoryRepository {
    let repo = this.repositories.get(name);
    if (!repo) {
      repo = { index: emptyIndex(), blobs: new Map(), blobTimes: new Map(), uploads: new Map() };
      this.repositories.set(name, repo);
    }
    return repo;
  }

  protected upload(repository: string, uploadId: string): { chunks: Buffer[]; size: number; startedAt: Date; modifiedAt: Date } {
    const upload = this.repositories.get(repository)?.uploads.get(uploadId);
    if (!upload) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
    return upload;
  }
}

function* chunksOf(bytes: Buffer): Generator<Buffer> {
  for (let start = 0; start < bytes.length; start += 65536) yield bytes.subarray(start, start + 65536);
}
