import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type {
  BlobEntry,
  BlobVersions,
  DeleteBlobOptions,
  HealthProbe,
  IndexUpdate,
  LeftoverRemoval,
  ReadBlobOptions,
  RegistryStorage,
  RepositoryIndex,
  RepositoryUsage,
  StorageCapabilities,
  UploadEntry,
  UploadInfo,
  UsageReporting,
} from '@zotjs/core';
import { BlobFiles } from './blob-files.js';
import { DedupeStore } from './dedupe-store.js';
import { DirectoryWatch } from './directory-watch.js';
import { FILE_MODE } from './fs-util.js';
import { IndexFiles } from './index-files.js';
import { removeLeftovers } from './leftovers.js';
import { LayoutPaths } from './paths.js';
import { RepositoryFolders } from './repository-folders.js';
import { UploadFiles } from './upload-files.js';
import { measureRepository } from './usage.js';

export interface OciLayoutStorageOptions {
  /** The folder holding one OCI image layout per repository. */
  rootDirectory: string;
  /**
   * fsync blobs and index.json before acknowledging a push (default true), so an acknowledged
   * push survives power loss, not only a process crash.
   */
  durable?: boolean;
  /**
   * Store identical blobs once across repositories, with hard links (default true, as zot).
   * Each repository still holds its own `blobs/<alg>/<hex>` file: a valid OCI image layout.
   */
  dedupe?: boolean;
  /**
   * When not watching (see `watch`): how long a cached index.json is trusted without checking the file (default 0: checked on
   * every read, so every process sharing the folder reads the others' writes at once). Writes
   * by this process update the cache at once; changes made by another process sharing the folder
   * (`zot-cli gc`, a second server) are seen within this window. Index updates always read the
   * file fresh under the cross-process lock, so no update is ever lost. A single server whose
   * folder only `zot-cli gc`/`scrub` also touch can set a few hundred ms to save a stat per request.
   */
  indexRevalidateMs?: number;
  /**
   * Trust cached index.json files and blob sizes while an inotify watch of their folder reports
   * no change (default true): changes by any process on this machine are seen, and a manifest
   * GET or blob HEAD costs no stat. Turn it off on network filesystems (NFS, SMB), where another
   * host's changes raise no event; then `indexRevalidateMs` and a stat per read apply.
   */
  watch?: boolean;
}

/**
 * The default backend: every repository is an OCI image layout under `rootDirectory`
 * (`<repo>/oci-layout`, `<repo>/index.json`, `<repo>/blobs/<alg>/<hex>`), readable directly by
 * skopeo (`oci:` transport) and umoci. Upload sessions live in `<repo>/.uploads/<id>`.
 *
 * This class is the map: each concern is a part of its own, and every byte reaches the disk in
 * one of them: {@link IndexFiles} (index.json, atomic and locked across processes),
 * {@link BlobFiles} (blob files, dedupe, garbage-collection safety), {@link UploadFiles} (session
 * files and their commit), {@link RepositoryFolders} (which repositories exist, creating them).
 * It also answers the optional capabilities: version tokens, leftover removal, a health probe
 * and per-repository usage.
 */
export class OciLayoutStorage implements RegistryStorage, BlobVersions, LeftoverRemoval, HealthProbe, UsageReporting {
  readonly paths: LayoutPaths;
  readonly dedupe: boolean;
  readonly capabilities: StorageCapabilities = { blobVersions: this, leftovers: this, health: this, usage: this };
  private readonly store: DedupeStore;
  private readonly folders: RepositoryFolders;
  private readonly indexes: IndexFiles;
  private readonly blobs: BlobFiles;
  private readonly uploads: UploadFiles;

  constructor(options: OciLayoutStorageOptions) {
    this.paths = new LayoutPaths(options.rootDirectory);
    const durable = options.durable ?? true;
    this.dedupe = options.dedupe ?? true;
    const watch = (options.watch ?? true) ? new DirectoryWatch() : undefined;
    this.store = new DedupeStore(this.paths);
    this.folders = new RepositoryFolders(this.paths, durable);
    this.indexes = new IndexFiles(this.paths, this.folders, { durable, revalidateMs: options.indexRevalidateMs ?? 0, watch });
    this.blobs = new BlobFiles(this.paths, this.folders, this.store, { durable, dedupe: this.dedupe, watch });
    this.uploads = new UploadFiles(this.paths, this.folders, this.blobs, this.store, { durable, dedupe: this.dedupe });
  }

  listRepositories(): Promise<string[]> {
    return this.folders.list();
  }

  readIndex(repository: string): Promise<RepositoryIndex | undefined> {
    return this.indexes.read(repository);
  }

  updateIndex(repository: string, update: IndexUpdate): Promise<RepositoryIndex> {
    return this.indexes.update(repository, update);
  }

  statBlob(repository: string, digest: string): Promise<number | undefined> {
    return this.blobs.stat(repository, digest);
  }

  readBlob(repository: string, digest: string, options?: ReadBlobOptions): Promise<Readable | undefined> {
    return this.blobs.read(repository, digest, options);
  }

  putBlob(repository: string, digest: string, data: Uint8Array): Promise<void> {
    return this.blobs.put(repository, digest, data);
  }

  deleteBlob(repository: string, digest: string, options?: DeleteBlobOptions): Promise<boolean> {
    return this.blobs.delete(repository, digest, options);
  }

  touchBlobs(repository: string, digests: readonly string[]): Promise<string[]> {
    return this.blobs.touch(repository, digests);
  }

  mountBlob(fromRepository: string, toRepository: string, digest: string): Promise<boolean> {
    return this.blobs.mount(fromRepository, toRepository, digest);
  }

  listBlobs(repository: string): Promise<BlobEntry[]> {
    return this.blobs.list(repository);
  }

  createUpload(repository: string, uploadId: string): Promise<void> {
    return this.uploads.create(repository, uploadId);
  }

  statUpload(repository: string, uploadId: string): Promise<UploadInfo | undefined> {
    return this.uploads.stat(repository, uploadId);
  }

  appendUpload(repository: string, uploadId: string, offset: number, data: Readable, signal?: AbortSignal): Promise<number> {
    return this.uploads.append(repository, uploadId, offset, data, signal);
  }

  readUpload(repository: string, uploadId: string, signal?: AbortSignal): Promise<Readable> {
    return this.uploads.read(repository, uploadId, signal);
  }

  commitUpload(repository: string, uploadId: string, digest: string, size: number): Promise<string | undefined> {
    return this.uploads.commit(repository, uploadId, digest, size);
  }

  deleteUpload(repository: string, uploadId: string): Promise<boolean> {
    return this.uploads.delete(repository, uploadId);
  }

  listUploads(repository: string): Promise<UploadEntry[]> {
    return this.uploads.list(repository);
  }

  // ---- optional capabilities ---------------------------------------------------------------

  /** A token of the blob file's device, inode, size, modification and change times. */
  blobVersion(repository: string, digest: string): Promise<string | undefined> {
    return this.blobs.version(repository, digest);
  }

  /**
   * Removes temporary files and session lock folders that a crash left in `.uploads/` (never a
   * session: those expire through garbage collection), and deduplication store entries no
   * repository links to any more, when older than `olderThan`.
   */
  async removeLeftovers(olderThan: Date): Promise<number> {
    return removeLeftovers(this.paths, await this.listRepositories(), this.store, olderThan);
  }

  /**
   * Writes a small file in the storage root and removes it again: the root exists, is a folder
   * and takes writes (not read-only, not full, not taken away with an unmounted volume). Fails
   * with the system's code (`ENOENT`, `ENOTDIR`, `EACCES`, `EROFS`, `ENOSPC`).
   */
  async probe(): Promise<void> {
    // Dot-named: never taken for a repository; one name per probe, as several may run at once.
    const file = join(this.paths.root, `.zot-health-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await writeFile(file, 'ok', { mode: FILE_MODE });
    } catch (err) {
      await rm(file, { force: true }).catch(() => undefined); // a write cut short (ENOSPC) may leave it
      throw err;
    }
    await rm(file, { force: true });
  }

  /** The repository's files on disk, each inode once (see usage.ts). */
  repositoryUsage(repository: string): Promise<RepositoryUsage | undefined> {
    return measureRepository(this.paths, repository);
  }
}
