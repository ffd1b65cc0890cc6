import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, open as openCallback, statSync, type BigIntStats, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { copyFile, link, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DigestAlgorithms,
  KeyedMutex,
  RegistryError,
  isValidUploadId,
  tryParseDigest,
  type BlobEntry,
  type DeleteBlobOptions,
  type UploadEntry,
  UploadOffsetError,
  emptyIndex,
  type IndexUpdate,
  type ReadBlobOptions,
  type RegistryStorage,
  type RepositoryIndex,
  type UploadInfo,
} from '@zotjs/core';
import { DirectoryWatch } from './directory-watch.js';
import { FileAppendStream } from './file-append-stream.js';
import { FileReadStream } from './file-read-stream.js';
import { LayoutPaths } from './paths.js';
import { RepositoryLocks, SESSION_LOCK_PREFIX, unlessLocked } from './repository-lock.js';
import { DedupeStore, listDir, touch } from './dedupe-store.js';
import { FILE_MODE, createFileOnce, ensureDir, errorCode, isNotFound, syncDir, syncFile, writeFileAtomic, writeFileDurable } from './fs-util.js';

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
 * Written by every conditional (garbage-collection) delete before it looks at a blob; touches
 * take the locked path while it is recent. Longer than any one delete can take (its lock wait
 * included), and by far.
 */
const GC_MARKER = 'gc.active';
const GC_MARKER_WINDOW_MS = 10 * 60 * 1000;

/** Prefixes of the temporary files atomic writes and mounts create in `.uploads/`. */
const TEMP_PREFIXES = ['.tmp-', '.mount-'];

/** A session's lock left by a killed process is taken over after this long (its owner refreshes it). */
const SESSION_LOCK_STALE_MS = 10_000;

function uploadUnknown(): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
}

const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });
const STREAM_BUFFER = 1 << 20;
// An upload is flushed to disk in the background every this many bytes (see FileAppendStream).
const FLUSH_EVERY = 32 * 1024 * 1024;
const BLOB_SIZES_CACHED = 65536;

interface CachedIndex {
  checkedAt: number;
  /** The repository folder's watch generation when this was read (undefined: not watched). */
  generation: number | undefined;
  ino: number;
  mtimeMs: number;
  size: number;
  index: RepositoryIndex;
}

/**
 * The default backend: every repository is an OCI image layout under `rootDirectory`
 * (`<repo>/oci-layout`, `<repo>/index.json`, `<repo>/blobs/<alg>/<hex>`), readable directly by
 * skopeo (`oci:` transport) and umoci. Upload sessions live in `<repo>/.uploads/<id>`.
 *
 * Index updates are serialized per repository within the process and written atomically
 * (temporary file, fsync, rename), so concurrent tag pushes never lose one another.
 */
export class OciLayoutStorage implements RegistryStorage {
  readonly paths: LayoutPaths;
  readonly dedupe: boolean;
  private readonly durable: boolean;
  private readonly store: DedupeStore;
  private readonly repoLocks = new KeyedMutex();
  private readonly indexLocks = new RepositoryLocks();
  private readonly blobLocks = new RepositoryLocks(5000, 'blobs.lock');
  // Parsed index.json per repository, trusted while the file's inode/mtime/size are unchanged:
  // every write is a rename, so any writer (even another process) changes the inode.
  private readonly indexCache = new Map<string, CachedIndex>();
  private readonly indexRevalidateMs: number;
  private readonly watch: DirectoryWatch | undefined;
  // Blob sizes (undefined: absent) with their folder's watch generation, for HEAD and manifest checks.
  // Bounded: the oldest entry goes first (a re-check costs one stat).
  private readonly blobSizes = new Map<string, { size: number | undefined; generation: number }>();

  constructor(options: OciLayoutStorageOptions) {
    this.paths = new LayoutPaths(options.rootDirectory);
    this.durable = options.durable ?? true;
    this.dedupe = options.dedupe ?? true;
    this.indexRevalidateMs = options.indexRevalidateMs ?? 0;
    this.watch = (options.watch ?? true) ? new DirectoryWatch() : undefined;
    this.store = new DedupeStore(this.paths);
  }

  async listRepositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      if (prefix && entries.some((e) => e.name === 'index.json' && e.isFile())) found.push(prefix);
      await Promise.all(
        entries
          // `.uploads`, `_blobstore` and a layout's `blobs` are never repositories.
          .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_') && e.name !== 'blobs')
          .map((e) => walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name)),
      );
    };
    await walk(this.paths.root, '');
    return found;
  }

  async readIndex(repository: string): Promise<RepositoryIndex | undefined> {
    return this.loadIndex(repository, false);
  }

  /**
   * The parsed index.json. A manifest GET reads it on every request, and on this kind of storage
   * even a stat costs more than the rest of the request, so a cached copy is trusted for
   * `indexRevalidateMs`; after that (or when `fresh`) the file's inode/mtime/size decide.
   */
  private async loadIndex(repository: string, fresh: boolean): Promise<RepositoryIndex | undefined> {
    const now = performance.now();
    const cached = this.indexCache.get(repository);
    const generation = this.watch?.generation(this.paths.repository(repository));
    if (cached && !fresh) {
      // Watched: the watch decides. Not watched: the file is trusted for indexRevalidateMs.
      if (generation !== undefined ? cached.generation === generation : now - cached.checkedAt < this.indexRevalidateMs) return cached.index;
    }
    const file = this.paths.index(repository);
    const info = statNow(file);
    if (!info) {
      this.indexCache.delete(repository);
      return undefined;
    }
    if (cached && cached.ino === info.ino && cached.mtimeMs === info.mtimeMs && cached.size === info.size) {
      cached.checkedAt = now;
      cached.generation = generation;
      return cached.index;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const index = parseIndex(text, repository);
    this.indexCache.set(repository, { ino: info.ino, mtimeMs: info.mtimeMs, size: info.size, index, checkedAt: now, generation });
    return index;
  }

  async updateIndex(repository: string, update: IndexUpdate): Promise<RepositoryIndex> {
    await this.ensureRepository(repository);
    return this.indexLocks.run(repository, this.paths.uploads(repository), async () => {
      // Under the lock, always from the file: another process may have written it just now.
      const current = (await this.loadIndex(repository, true)) ?? emptyIndex();
      const next = update(current);
      if (!next) return current;
      const file = this.paths.index(repository);
      await writeFileAtomic(file, JSON.stringify(next), this.paths.uploads(repository), this.durable);
      const info = statNow(file);
      // The generation from before this write: the event it raises only causes one more stat.
      const generation = this.watch?.generation(this.paths.repository(repository));
      if (info) this.indexCache.set(repository, { ino: info.ino, mtimeMs: info.mtimeMs, size: info.size, index: next, checkedAt: performance.now(), generation });
      return next;
    });
  }

  async statBlob(repository: string, digest: string): Promise<number | undefined> {
    const file = this.paths.blob(repository, digest);
    const generation = this.watch?.generation(dirname(file));
    if (generation !== undefined) {
      const cached = this.blobSizes.get(file);
      if (cached && cached.generation === generation) return cached.size;
    }
    const info = statNow(file);
    const size = info?.isFile() ? info.size : undefined;
    if (generation !== undefined) {
      if (this.blobSizes.size >= BLOB_SIZES_CACHED) this.blobSizes.delete(this.blobSizes.keys().next().value as string);
      this.blobSizes.set(file, { size, generation });
    }
    return size;
  }

  /**
   * After this process added or removed the blob: its folder's watch event may not have been
   * delivered yet, and the next request must not wait for it.
   */
  private forgetBlobSize(repository: string, digest: string): void {
    this.blobSizes.delete(this.paths.blob(repository, digest));
  }

  async readBlob(repository: string, digest: string, options: ReadBlobOptions = {}): Promise<Readable | undefined> {
    let fd: number;
    try {
      // Open first, stream from the descriptor: a concurrent delete cannot turn this into a half read.
      fd = await openFile(this.paths.blob(repository, digest), 'r');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    let end: number;
    try {
      end = options.range ? options.range.end : fstatSync(fd).size - 1;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    const stream = new FileReadStream(fd, options.range?.start ?? 0, end);
    if (options.signal) addAbortSignal(options.signal, stream);
    return stream;
  }

  async blobVersion(repository: string, digest: string): Promise<string | undefined> {
    const info = statNow(this.paths.blob(repository, digest), true);
    return info?.isFile() ? versionToken(info) : undefined;
  }

  async putBlob(repository: string, digest: string, data: Uint8Array): Promise<void> {
    try {
      await this.storeBlob(repository, digest, data);
    } finally {
      this.forgetBlobSize(repository, digest);
    }
  }

  private async storeBlob(repository: string, digest: string, data: Uint8Array): Promise<void> {
    await this.ensureRepository(repository);
    const target = this.paths.blob(repository, digest);
    // Content-addressed: same name, same bytes. Refresh it instead (atomically with gc's delete).
    if ((await this.statBlob(repository, digest)) === data.length && (await this.touchBlobs(repository, [digest])).length === 0) return;
    const uploads = this.paths.uploads(repository);
    await ensureDir(this.paths.blobDir(repository, digest.slice(0, digest.indexOf(':'))));
    if (!this.dedupe) {
      await writeFileAtomic(target, data, uploads, this.durable);
      return;
    }
    const temp = join(uploads, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      await writeFileDurable(temp, data, this.durable);
      await this.store.place(digest, temp, data.length, target, uploads);
    } finally {
      await rm(temp, { force: true });
    }
    // The repository's link is what must survive a crash; the store's entry is only an index.
    if (this.durable) await syncDir(dirname(target));
  }

  async deleteBlob(repository: string, digest: string, options: DeleteBlobOptions = {}): Promise<boolean> {
    try {
      return await this.removeBlob(repository, digest, options);
    } finally {
      this.forgetBlobSize(repository, digest);
    }
  }

  private async removeBlob(repository: string, digest: string, options: DeleteBlobOptions): Promise<boolean> {
    const file = this.paths.blob(repository, digest);
    const cutoff = options.unmodifiedSince;
    const remove = async (): Promise<boolean> => {
      try {
        if (cutoff) {
          const info = await stat(file);
          if (info.mtime.getTime() > cutoff.getTime()) return false; // touched since: in use
        }
        await unlink(file);
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
      if (this.dedupe) await this.store.release(digest);
      return true;
    };
    if (!cutoff) return remove();
    const lockDir = await this.lockDir(repository);
    if (!lockDir) return false;
    // Announce it before looking at the blob: touches from now on take the locked path.
    await writeFile(join(lockDir, GC_MARKER), '');
    // Under the blob lock, so that no locked touch lands between the check and the unlink.
    return this.blobLocks.run(repository, lockDir, remove);
  }

  /**
   * Lock-free unless garbage collection deleted (or tried to) in this repository lately: the
   * touch goes first, then the marker is checked. A conditional delete writes the marker before
   * it looks at a blob, so either it looks after our touch (and keeps the blob), or we see its
   * marker and touch again under the lock it deletes under (and see the blob gone).
   */
  async touchBlobs(repository: string, digests: readonly string[]): Promise<string[]> {
    if (digests.length === 0) return [];
    const missing = await this.touchEach(repository, digests);
    if (missing.length === digests.length || !(await this.gcRecentlyActive(repository))) return missing;
    const lockDir = await this.lockDir(repository);
    if (!lockDir) return [...digests];
    return this.blobLocks.run(repository, lockDir, () => this.touchEach(repository, digests));
  }

  private async touchEach(repository: string, digests: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    await Promise.all(
      digests.map(async (digest) => {
        try {
          await touch(this.paths.blob(repository, digest));
        } catch (err) {
          if (isNotFound(err)) missing.push(digest);
          else throw err;
        }
      }),
    );
    return missing;
  }

  private async gcRecentlyActive(repository: string): Promise<boolean> {
    try {
      const info = await stat(join(this.paths.uploads(repository), GC_MARKER));
      return info.mtime.getTime() > Date.now() - GC_MARKER_WINDOW_MS;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async mountBlob(fromRepository: string, toRepository: string, digest: string): Promise<boolean> {
    try {
      return await this.linkBlob(fromRepository, toRepository, digest);
    } finally {
      this.forgetBlobSize(toRepository, digest);
    }
  }

  private async linkBlob(fromRepository: string, toRepository: string, digest: string): Promise<boolean> {
    const source = this.paths.blob(fromRepository, digest);
    if ((await this.statBlob(fromRepository, digest)) === undefined) return false;
    await this.ensureRepository(toRepository);
    await ensureDir(this.paths.blobDir(toRepository, digest.slice(0, digest.indexOf(':'))));
    const temp = join(this.paths.uploads(toRepository), `.mount-${randomBytes(8).toString('hex')}`);
    try {
      // A hard link shares the bytes (no copy); a copy is the fallback across filesystems.
      await link(source, temp).catch(async (err: unknown) => {
        if (isNotFound(err)) throw err;
        await copyFile(source, temp);
      });
      // A link shares the inode's modification time: make it now, or gc would see an old blob here.
      await touch(temp);
      await rename(temp, this.paths.blob(toRepository, digest));
    } catch (err) {
      await rm(temp, { force: true });
      if (isNotFound(err)) return false; // deleted from `from` meanwhile
      throw err;
    }
    if (this.durable) await syncDir(this.paths.blobDir(toRepository, digest.slice(0, digest.indexOf(':'))));
    return true;
  }

  async createUpload(repository: string, uploadId: string): Promise<void> {
    await this.ensureRepository(repository);
    const handle = await open(this.paths.upload(repository, uploadId), 'wx', FILE_MODE);
    await handle.close();
  }

  async statUpload(repository: string, uploadId: string): Promise<UploadInfo | undefined> {
    try {
      const info = await stat(this.paths.upload(repository, uploadId));
      const started = info.birthtimeMs > 0 ? info.birthtime : info.ctime;
      return { size: info.size, startedAt: started, modifiedAt: info.mtime };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async appendUpload(repository: string, uploadId: string, offset: number, data: Readable, signal?: AbortSignal): Promise<number> {
    const current = await this.statUpload(repository, uploadId);
    if (!current) throw uploadUnknown();
    if (current.size !== offset) throw new UploadOffsetError(current.size, offset);
    return this.whileWriting(
      repository,
      uploadId,
      () => this.appendLocked(repository, uploadId, offset, data, signal),
      // Another request is appending: by the time it is done, `offset` is stale.
      async () => {
        throw new UploadOffsetError((await this.statUpload(repository, uploadId))?.size ?? current.size, offset);
      },
    );
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
    const current = await this.statUpload(repository, uploadId);
    if (!current) throw uploadUnknown();
    if (current.size !== offset) throw new UploadOffsetError(current.size, offset);
    const out = new FileAppendStream(file, { flushEvery: this.durable ? FLUSH_EVERY : 0 });
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

  async readUpload(repository: string, uploadId: string, signal?: AbortSignal): Promise<Readable> {
    const handle = await open(this.paths.upload(repository, uploadId), 'r').catch((err: unknown) => {
      if (isNotFound(err)) throw uploadUnknown();
      throw err;
    });
    return handle.createReadStream({ highWaterMark: STREAM_BUFFER, ...(signal ? { signal } : {}) });
  }

  async commitUpload(repository: string, uploadId: string, digest: string, size: number): Promise<string | undefined> {
    const changing = (): RegistryError => new RegistryError('BLOB_UPLOAD_INVALID', 'upload data changed after it was verified');
    return this.whileWriting(
      repository,
      uploadId,
      async () => {
        const current = await this.statUpload(repository, uploadId);
        if (!current) throw uploadUnknown();
        if (current.size !== size) throw changing();
        try {
          return await this.placeUpload(repository, uploadId, digest);
        } finally {
          this.forgetBlobSize(repository, digest);
        }
      },
      async () => {
        throw changing(); // an append is in progress
      },
    );
  }

  /**
   * Moves the session's file into place as the blob. Resolves to the blob's version token when
   * the blob is now that very file (the bytes core just hashed), undefined when an existing copy
   * was linked instead or the blob changed again before it could be checked.
   */
  private async placeUpload(repository: string, uploadId: string, digest: string): Promise<string | undefined> {
    const file = this.paths.upload(repository, uploadId);
    const target = this.paths.blob(repository, digest);
    const blobDir = this.paths.blobDir(repository, digest.slice(0, digest.indexOf(':')));
    await ensureDir(blobDir);
    let uploaded: BigIntStats;
    try {
      if (this.durable) await syncFile(file);
      uploaded = await stat(file, { bigint: true });
      if (this.dedupe) {
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
    if (this.durable) await syncDir(blobDir);
    const placed = statNow(target, true);
    return placed?.isFile() && placed.dev === uploaded.dev && placed.ino === uploaded.ino ? versionToken(placed) : undefined;
  }

  async deleteUpload(repository: string, uploadId: string): Promise<boolean> {
    try {
      await unlink(this.paths.upload(repository, uploadId));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async listBlobs(repository: string): Promise<BlobEntry[]> {
    const blobsDir = join(this.paths.repository(repository), 'blobs');
    const algorithms = await readdirIfExists(blobsDir);
    const entries: BlobEntry[] = [];
    for (const algorithm of algorithms) {
      if (!Object.hasOwn(DigestAlgorithms, algorithm)) continue;
      const dir = join(blobsDir, algorithm);
      for (const hex of await readdirIfExists(dir)) {
        const digest = `${algorithm}:${hex}`;
        if (!tryParseDigest(digest)) continue; // stray files are not blobs
        const info = await stat(join(dir, hex)).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
        if (info?.isFile()) entries.push({ digest, size: info.size, modifiedAt: info.mtime });
      }
    }
    return entries;
  }

  async listUploads(repository: string): Promise<UploadEntry[]> {
    const entries: UploadEntry[] = [];
    for (const name of await readdirIfExists(this.paths.uploads(repository))) {
      if (!isValidUploadId(name)) continue; // temporary files of atomic writes live here too
      const info = await this.statUpload(repository, name);
      if (info) entries.push({ uploadId: name, ...info });
    }
    return entries;
  }

  /**
   * Removes temporary files and session lock folders that a crash left in `.uploads/` (never a
   * session: those expire through garbage collection), and deduplication store entries no
   * repository links to any more, when older than `olderThan`.
   */
  async removeLeftovers(olderThan: Date): Promise<number> {
    let removed = 0;
    for (const repository of await this.listRepositories()) {
      const uploads = this.paths.uploads(repository);
      for (const name of await listDir(uploads)) {
        const temporary = TEMP_PREFIXES.some((prefix) => name.startsWith(prefix));
        if (!temporary && !name.startsWith(SESSION_LOCK_PREFIX)) continue;
        const file = join(uploads, name);
        const info = await stat(file).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
        if (!info || info.mtime.getTime() >= olderThan.getTime()) continue;
        // A session's lock folder is refreshed while held: an old one was left by a killed process.
        if (temporary ? info.isFile() : info.isDirectory()) {
          await rm(file, { force: true, recursive: !temporary });
          removed += 1;
        }
      }
    }
    removed += await this.store.sweep(olderThan);
    return removed;
  }

  /** Where the repository's locks live, or undefined when there is no such repository. */
  private async lockDir(repository: string): Promise<string | undefined> {
    const uploads = this.paths.uploads(repository);
    if (await exists(uploads)) return uploads;
    if (!(await exists(this.paths.index(repository)))) return undefined;
    await ensureDir(uploads); // a layout made by another tool: add the registry's own folder
    return uploads;
  }

  /** Creates the repository's layout (oci-layout, index.json, folders) if it does not exist yet. */
  private async ensureRepository(repository: string): Promise<void> {
    try {
      await stat(this.paths.index(repository));
      await stat(this.paths.uploads(repository));
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.repoLocks.run(repository, () => this.ensureRepositoryLocked(repository));
  }

  private async ensureRepositoryLocked(repository: string): Promise<void> {
    const uploads = this.paths.uploads(repository);
    await ensureDir(uploads);
    await ensureDir(join(this.paths.repository(repository), 'blobs'));
    // Never replace these: another process may have created the repository and pushed meanwhile.
    if (!(await exists(this.paths.layoutFile(repository)))) {
      await createFileOnce(this.paths.layoutFile(repository), OCI_LAYOUT, uploads, this.durable);
    }
    if (!(await exists(this.paths.index(repository)))) {
      await createFileOnce(this.paths.index(repository), JSON.stringify(emptyIndex()), uploads, this.durable);
    }
  }
}

function parseIndex(text: string, repository: string): RepositoryIndex {
  try {
    const index = JSON.parse(text) as RepositoryIndex;
    if (index && Array.isArray(index.manifests)) return index;
  } catch {
    // fall through
  }
  // index.json is only ever replaced atomically, so this means someone edited it by hand.
  throw new Error(`index.json of repository ${repository} is not a valid image index`);
}

/**
 * stat on the event loop. Manifest GETs and blob HEADs stat a hot inode on every request (the
 * index cache's validity check, a blob's size): that syscall takes microseconds, while the
 * thread-pool round trip of fs.promises.stat cost a quarter of the CPU of a manifest GET.
 */
const openFile = promisify(openCallback);

/**
 * What {@link OciLayoutStorage.blobVersion} answers for a file. Any write through the filesystem
 * (even one restoring the mtime) moves ctime; a hard-linked copy in another repository shares the
 * inode, so it shares the version too.
 */
function versionToken(info: BigIntStats): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

function statNow(path: string): Stats | undefined;
function statNow(path: string, bigint: true): BigIntStats | undefined;
function statNow(path: string, bigint = false): Stats | BigIntStats | undefined {
  try {
    return bigint ? statSync(path, { bigint: true, throwIfNoEntry: false }) : statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function truncateTo(file: string, size: number): Promise<void> {
  const handle = await open(file, 'r+').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
}
