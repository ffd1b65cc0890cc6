import type { BigIntStats } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError, UploadOffsetError, isValidUploadId, type UploadEntry, type UploadInfo } from '@zotjs/core';
import { versionToken, type BlobFiles } from './blob-files.js';
import type { DedupeStore } from './dedupe-store.js';
import { FileAppendStream } from './file-append-stream.js';
import { FILE_MODE, ensureDir, errorCode, isNotFound, listDir, statNow, syncDir, syncFile, touch, truncateTo } from './fs-util.js';
import type { LayoutPaths } from './paths.js';
import type { RepositoryFolders } from './repository-folders.js';
import { unlessLocked } from './repository-lock.js';

/** A session's lock left by a killed process is taken over after this long (its owner refreshes it). */
const SESSION_LOCK_STALE_MS = 10_000;
const STREAM_BUFFER = 1 << 20;
// An upload is flushed to disk in the background every this many bytes (see FileAppendStream).
const FLUSH_EVERY = 32 * 1024 * 1024;

export interface UploadFilesOptions {
  durable: boolean;
  dedupe: boolean;
}

/**
 * Upload sessions as files, `.uploads/<id>`: appended to at their size only, one writer at a time
 * across processes (a lock folder per session), and renamed (or linked, deduplicated) into place
 * as the blob when committed.
 */
export class UploadFiles {
  constructor(
    private readonly paths: LayoutPaths,
    private readonly folders: RepositoryFolders,
    private readonly blobs: BlobFiles,
    private readonly store: DedupeStore,
    private readonly options: UploadFilesOptions,
  ) {}

  async create(repository: string, uploadId: string): Promise<void> {
    await this.folders.ensure(repository);
    const handle = await open(this.paths.upload(repository, uploadId), 'wx', FILE_MODE);
    await handle.close();
  }

  async stat(repository: string, uploadId: string): Promise<UploadInfo | undefined> {
    try {
      const info = await stat(this.paths.upload(repository, uploadId));
      const started = info.birthtimeMs > 0 ? info.birthtime : info.ctime;
      return { size: info.size, startedAt: started, modifiedAt: info.mtime };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async append(repository: string, uploadId: string, offset: number, data: Readable, signal?: AbortSignal): Promise<number> {
    const current = await this.stat(repository, uploadId);
    if (!current) throw uploadUnknown();
    if (current.size !== offset) throw new UploadOffsetError(current.size, offset);
    return this.whileWriting(
      repository,
      uploadId,
      () => this.appendLocked(repository, uploadId, offset, data, signal),
      // Another request is appending: by the time it is done, `offset` is stale.
      async () => {
        throw new UploadOffsetError((await this.stat(repository, uploadId))?.size ?? current.size, offset);
      },
    );
  }

  async read(repository: string, uploadId: string, signal?: AbortSignal): Promise<Readable> {
    const handle = await open(this.paths.upload(repository, uploadId), 'r').catch((err: unknown) => {
      if (isNotFound(err)) throw uploadUnknown();
      throw err;
    });
    return handle.createReadStream({ highWaterMark: STREAM_BUFFER, ...(signal ? { signal } : {}) });
  }

  async commit(repository: string, uploadId: string, digest: string, size: number): Promise<string | undefined> {
    const changing = (): RegistryError => new RegistryError('BLOB_UPLOAD_INVALID', 'upload data changed after it was verified');
    return this.whileWriting(
      repository,
      uploadId,
      async () => {
        const current = await this.stat(repository, uploadId);
        if (!current) throw uploadUnknown();
        if (current.size !== size) throw changing();
        try {
          return await this.place(repository, uploadId, digest);
        } finally {
          this.blobs.forgetSize(repository, digest);
        }
      },
      async () => {
        throw changing(); // an append is in progress
      },
    );
  }

  async delete(repository: string, uploadId: string): Promise<boolean> {
    try {
      await unlink(this.paths.upload(repository, uploadId));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async list(repository: string): Promise<UploadEntry[]> {
    const entries: UploadEntry[] = [];
    for (const name of await listDir(this.paths.uploads(repository))) {
      if (!isValidUploadId(name)) continue; // temporary files of atomic writes live here too
      const info = await this.stat(repository, name);
      if (info) entries.push({ uploadId: name, ...info });
    }
    return entries;
  }

  /**
   * Holds the session's lock folder for `work`, so appends and the commit of one session never
   * overlap, even across processes (a worker renaming a session into a blob while another still
   * writes to it would change the blob after its digest was verified).
   */
  private async whileWriting<T>(repository: string, uploadId: string, work: () => Promise<T>, busy: () => Promise<T>): Promise<T> {
    if (!isValidUploadId(uploadId)) throw uploadUnknown(); // it names a path
    try {
      return await unlessLocked(this.paths.uploadLock(repository, uploadId), SESSION_LOCK_STALE_MS, work, busy);
    } catch (err) {
      if (isNotFound(err)) throw uploadUnknown(); // the repository went away meanwhile
      throw err;
    }
  }

  private async appendLocked(repository: string, uploadId: string, offset: number, data: Readable, signal?: AbortSignal): Promise<number> {
    const file = this.paths.upload(repository, uploadId);
    // Checked again under the lock: an append that ended between the first check and the lock.
    const current = await this.stat(repository, uploadId);
    if (!current) throw uploadUnknown();
    if (current.size !== offset) throw new UploadOffsetError(current.size, offset);
    const out = new FileAppendStream(file, { flushEvery: this.options.durable ? FLUSH_EVERY : 0 });
    try {
      await pipeline(data, out, signal ? { signal } : {});
    } catch (err) {
      if (errorCode(err) === 'ENOSPC') {
        // Keep nothing of a chunk that did not fit: the session stays at its last full size.
        await truncateTo(file, offset);
      }
      throw err;
    }
    return offset + out.bytesWritten;
  }

  /**
   * Moves the session's file into place as the blob. Resolves to the blob's version token when
   * the blob is now that very file (the bytes core just hashed), undefined when an existing copy
   * was linked instead or the blob changed again before it could be checked.
   */
  private async place(repository: string, uploadId: string, digest: string): Promise<string | undefined> {
    const file = this.paths.upload(repository, uploadId);
    const target = this.paths.blob(repository, digest);
    const blobDir = this.paths.blobDir(repository, digest.slice(0, digest.indexOf(':')));
    await ensureDir(blobDir);
    let uploaded: BigIntStats;
    try {
      if (this.options.durable) await syncFile(file);
      uploaded = await stat(file, { bigint: true });
      if (this.options.dedupe) {
        await this.store.place(digest, file, Number(uploaded.size), target, this.paths.uploads(repository));
        await unlink(file).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
      } else {
        await rename(file, target);
        await touch(target);
      }
    } catch (err) {
      if (isNotFound(err)) throw uploadUnknown();
      throw err;
    }
    if (this.options.durable) await syncDir(blobDir);
    const placed = statNow(target, true);
    return placed?.isFile() && placed.dev === uploaded.dev && placed.ino === uploaded.ino ? versionToken(placed) : undefined;
  }
}

export function uploadUnknown(): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
}
