import { randomUUID } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { RegistryError } from './errors.js';
import { createDigester, digestOf, parseDigest, type Digest } from './digest.js';
import { assertRepositoryName, assertTag, isValidTag, isValidUploadId } from './names.js';
import { parseManifest, referrerArtifactType, type ManifestInfo } from './manifest.js';
import {
  REF_NAME_ANNOTATION,
  UploadOffsetError,
  type ByteRange,
  type Descriptor,
  type RegistryStorage,
  type RepositoryIndex,
} from './storage.js';
import { KeyedMutex } from './util/keyed-mutex.js';
import { offThreadHasher, type Hasher } from './util/hash-worker.js';
import { LruCache } from './util/lru.js';
import { BodyTooLargeError, HashingCounter, readAll } from './util/streams.js';
import { CorruptContentError, VerifyingStream } from './util/verifying-stream.js';

export interface RegistryOptions {
  storage: RegistryStorage;
  /** Largest manifest accepted, in bytes (default 4 MiB, the spec's minimum). Larger gets 413. */
  maxManifestBytes?: number;
  /** Allow DELETE of manifests, tags and blobs (default true). When false they answer 405. */
  deleteEnabled?: boolean;
  /**
   * Re-hash every whole-blob read while it streams and fail the stream instead of ending it when
   * the stored bytes no longer match their digest (default true). One hash pass per pull.
   */
  verifyBlobReads?: boolean;
  /** Called when stored content turns out corrupt (log it, count it). */
  onCorruptContent?: (event: CorruptContentEvent) => void;
  /**
   * Upload sessions idle for longer than this (ms) are treated as abandoned: answered
   * BLOB_UPLOAD_UNKNOWN and removed (default 1 hour; garbage collection removes the ones nobody
   * comes back to). 0 disables the check.
   */
  uploadExpiryMs?: number;
}

export interface CorruptContentEvent {
  repository: string;
  digest: string;
  /** What the stored bytes hash to. */
  actual: string;
}

export interface BlobStat {
  digest: string;
  size: number;
}

export interface BlobContent extends BlobStat {
  /** The range served, when a range was asked for. */
  range?: ByteRange;
  stream: Readable;
}

export interface UploadStatus {
  repository: string;
  uploadId: string;
  /** Bytes received so far. */
  size: number;
}

export interface ManifestContent {
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
}

export interface PutManifestResult {
  digest: string;
  /** The subject's digest when the manifest has one (sent back as `OCI-Subject`). */
  subject?: string;
}

export interface Page<T> {
  items: T[];
  /** The value to pass as `last` for the next page; undefined on the last page. */
  next?: string;
}

export interface PageOptions {
  n?: number;
  last?: string;
}

export interface ChunkOptions {
  /** `Content-Range: start-end` of the chunk, if the client sent one. */
  range?: ByteRange;
  /** `Content-Length`, if the client sent one. */
  length?: number;
}

/** The running digest of an upload session this process fed, and how many bytes it covers. */
interface SessionHash {
  hasher: Hasher;
  size: number;
}

const DEFAULT_MAX_MANIFEST = 4 * 1024 * 1024;
const DEFAULT_UPLOAD_EXPIRY_MS = 60 * 60 * 1000;
// Blobs up to this size are verified before their response starts (one read buffer's worth);
// larger ones while they stream, the connection cut if they turn out corrupt.
const VERIFY_BEFORE_SENDING = 1024 * 1024;
const EMPTY_SHA256 = digestOf('sha256', new Uint8Array()).value;

/**
 * The distribution-spec state machine over a {@link RegistryStorage}: upload sessions with
 * streaming digest verification, manifests, tags, referrers and listings. This is also the typed
 * programmatic API for embedders: everything the HTTP handler does goes through it.
 */
export class Registry {
  readonly storage: RegistryStorage;
  readonly maxManifestBytes: number;
  readonly deleteEnabled: boolean;
  readonly verifyBlobReads: boolean;
  readonly uploadExpiryMs: number;
  private readonly onCorruptContent: ((event: CorruptContentEvent) => void) | undefined;

  private readonly sessionLocks = new KeyedMutex();
  // Running sha256 of each session this process fed, so PUT after PATCH does not re-read the data.
  // Lost on restart or on another replica: then the stored data is re-hashed (correct, slower).
  // The hashing itself runs on a worker thread (see util/hash-worker.ts); an evicted state frees it.
  private readonly sessionHashes = new LruCache<string, SessionHash>(4096, undefined, (state) => state.hasher.abort());
  // Manifests are immutable by digest, so their bytes and parsed form cache safely.
  private readonly manifestBytes = new LruCache<string, Buffer>(64 * 1024 * 1024, (b) => b.length);
  private readonly manifestInfos = new LruCache<string, ManifestInfo>(16384);
  // Blobs found corrupt while being read, refused up front from then on (until written again).
  private readonly corrupt = new LruCache<string, string>(16384);
  // The storage's blobVersion of each blob whose full read hashed correctly: unchanged since, so
  // re-hashing it would only find the same bytes again (scrub is what re-reads the disk itself).
  private readonly verified = new LruCache<string, string>(65536);

  constructor(options: RegistryOptions) {
    this.storage = options.storage;
    this.maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST;
    this.deleteEnabled = options.deleteEnabled ?? true;
    this.verifyBlobReads = options.verifyBlobReads ?? true;
    this.uploadExpiryMs = options.uploadExpiryMs ?? DEFAULT_UPLOAD_EXPIRY_MS;
    this.onCorruptContent = options.onCorruptContent;
  }

  // ---- blobs -------------------------------------------------------------------------------

  async statBlob(repository: string, digest: string): Promise<BlobStat> {
    assertRepositoryName(repository);
    const d = parseDigest(digest);
    const size = await this.storage.statBlob(repository, d.value);
    if (size === undefined) throw blobUnknown(d.value);
    return { digest: d.value, size };
  }

  /**
   * The blob's bytes, or the inclusive `range` of them. Throws 416 for an unsatisfiable range.
   * A whole-blob stream is verified while it flows (see {@link RegistryOptions.verifyBlobReads}).
   */
  async readBlob(repository: string, digest: string, range?: ByteRange, signal?: AbortSignal): Promise<BlobContent> {
    const { size } = await this.statBlob(repository, digest);
    if (this.corrupt.get(blobKey(repository, digest)) !== undefined) throw corruptContent(digest);
    let served: ByteRange | undefined;
    if (range) {
      if (range.start >= size || range.start > range.end) {
        throw new RegistryError('BLOB_UNKNOWN', 'requested range not satisfiable', {
          status: 416,
          headers: { 'Content-Range': `bytes */${size}` },
        });
      }
      served = { start: range.start, end: Math.min(range.end, size - 1) };
    }
    const key = blobKey(repository, digest);
    const verify = !served && this.verifyBlobReads;
    // Taken before the read: bytes changed during the read get a newer version, never this one.
    const version = verify ? await this.storage.blobVersion?.(repository, digest) : undefined;
    const readOptions = { ...(served ? { range: served } : {}), ...(signal ? { signal } : {}) };
    const stored = await this.storage.readBlob(repository, digest, readOptions);
    if (!stored) throw blobUnknown(digest);
    let stream = stored;
    const onVerified = (): void => {
      if (version !== undefined) this.verified.set(key, version);
    };
    if (!verify || (version !== undefined && this.verified.get(key) === version)) {
      // Served as stored: a range (the client checks the whole), or bytes already verified.
    } else if (size <= VERIFY_BEFORE_SENDING) {
      // Small enough to check before the response starts: a corrupt one gets a clean 500 answer.
      const bytes = await readAll(stored, size + 1);
      const actual = digestOf(parseDigest(digest).algorithm, bytes).value;
      if (actual !== digest || bytes.length !== size) {
        this.markCorrupt(repository, new CorruptContentError(digest, actual, bytes.length));
        throw corruptContent(digest);
      }
      onVerified();
      stream = Readable.from([bytes]);
    } else {
      const verifier = new VerifyingStream(parseDigest(digest), size, {
        onCorrupt: (err) => this.markCorrupt(repository, err),
        onVerified,
      });
      verifier.recycleInto(stored);
      // Errors travel both ways: a failed read fails the verifier, a destroyed verifier closes the file.
      pipeline(stored, verifier, () => undefined);
      stream = verifier;
    }
    return { digest, size, stream, ...(served ? { range: served } : {}) };
  }

  /**
   * Where the client may fetch the blob itself (the storage's {@link RegistryStorage.blobRedirectUrl}),
   * or undefined to serve it through {@link readBlob}. Checks that the blob exists (BLOB_UNKNOWN)
   * and is not known to be corrupt first. The store serves the bytes, so they are not verified on read.
   */
  async blobRedirect(repository: string, digest: string): Promise<{ digest: string; url: string } | undefined> {
    if (!this.storage.blobRedirectUrl) return undefined;
    const stat = await this.statBlob(repository, digest);
    if (this.corrupt.get(blobKey(repository, stat.digest)) !== undefined) throw corruptContent(stat.digest);
    const url = await this.storage.blobRedirectUrl(repository, stat.digest);
    return url ? { digest: stat.digest, url } : undefined;
  }

  /** Whether a read found this blob corrupt (it is refused until it is written again). */
  isMarkedCorrupt(repository: string, digest: string): boolean {
    return this.corrupt.get(blobKey(repository, digest)) !== undefined;
  }

  private markCorrupt(repository: string, err: CorruptContentError): void {
    this.corrupt.set(blobKey(repository, err.expected), err.actual);
    this.verified.delete(blobKey(repository, err.expected));
    this.onCorruptContent?.({ repository, digest: err.expected, actual: err.actual });
  }

  private clearCorrupt(repository: string, digest: string): void {
    this.corrupt.delete(blobKey(repository, digest));
  }

  async deleteBlob(repository: string, digest: string): Promise<void> {
    this.assertDeleteEnabled();
    assertRepositoryName(repository);
    const d = parseDigest(digest);
    if (!(await this.storage.deleteBlob(repository, d.value))) throw blobUnknown(d.value);
  }

  /**
   * Cross-repository mount: true when `from` held the blob and `repository` now does too.
   * False means "not mountable"; the caller then opens a normal upload session.
   */
  async mountBlob(repository: string, from: string, digest: string): Promise<boolean> {
    assertRepositoryName(repository);
    const d = parseDigest(digest);
    assertRepositoryName(from);
    if (from === repository) return (await this.storage.statBlob(repository, d.value)) !== undefined;
    const mounted = await this.storage.mountBlob(from, repository, d.value);
    if (mounted) this.clearCorrupt(repository, d.value);
    return mounted;
  }

  // ---- uploads -----------------------------------------------------------------------------

  async startUpload(repository: string): Promise<UploadStatus> {
    assertRepositoryName(repository);
    const uploadId = randomUUID();
    await this.storage.createUpload(repository, uploadId);
    this.sessionHashes.set(sessionKey(repository, uploadId), { hasher: offThreadHasher('sha256'), size: 0 });
    return { repository, uploadId, size: 0 };
  }

  async uploadStatus(repository: string, uploadId: string): Promise<UploadStatus> {
    assertRepositoryName(repository);
    const info = isValidUploadId(uploadId) ? await this.storage.statUpload(repository, uploadId) : undefined;
    if (!info) throw uploadUnknown();
    const lastActive = (info.modifiedAt ?? info.startedAt).getTime();
    if (this.uploadExpiryMs > 0 && Date.now() - lastActive > this.uploadExpiryMs) {
      // Abandoned: the client would not get its data back in one piece anyway after a gc pass.
      await this.storage.deleteUpload(repository, uploadId).catch(() => undefined);
      this.sessionHashes.delete(sessionKey(repository, uploadId));
      throw uploadUnknown();
    }
    return { repository, uploadId, size: info.size };
  }

  /** Appends one chunk (PATCH). With a range, its start must be the session's size, else 416. */
  async appendChunk(repository: string, uploadId: string, body: Readable, options: ChunkOptions = {}): Promise<UploadStatus> {
    assertRepositoryName(repository);
    return this.sessionLocks.run(sessionKey(repository, uploadId), () =>
      this.appendLocked(repository, uploadId, body, options),
    );
  }

  /**
   * Closes the session (PUT `?digest=`), appending `body` first when it is a final chunk. The blob
   * becomes visible only if the digest of everything received matches; else DIGEST_INVALID and
   * nothing is stored.
   */
  async completeUpload(
    repository: string,
    uploadId: string,
    digest: string,
    body?: Readable,
    options: ChunkOptions = {},
  ): Promise<BlobStat> {
    assertRepositoryName(repository);
    const expected = parseDigest(digest);
    return this.sessionLocks.run(sessionKey(repository, uploadId), async () => {
      const status = body
        ? await this.appendLocked(repository, uploadId, body, options)
        : await this.uploadStatus(repository, uploadId);
      const actual = await this.sessionDigest(repository, uploadId, status.size, expected.algorithm);
      if (actual !== expected.value) {
        throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
          detail: { expected: expected.value, actual },
        });
      }
      const version = await this.storage.commitUpload(repository, uploadId, expected.value, status.size);
      this.sessionHashes.delete(sessionKey(repository, uploadId));
      this.clearCorrupt(repository, expected.value);
      // The stored blob is the bytes just hashed: its first read need not hash them again.
      if (typeof version === 'string') this.verified.set(blobKey(repository, expected.value), version);
      return { digest: expected.value, size: status.size };
    });
  }

  async cancelUpload(repository: string, uploadId: string): Promise<void> {
    assertRepositoryName(repository);
    if (!isValidUploadId(uploadId) || !(await this.storage.deleteUpload(repository, uploadId))) throw uploadUnknown();
    this.sessionHashes.delete(sessionKey(repository, uploadId));
  }

  /** Monolithic upload in one call (POST `?digest=`): session, body, verify, commit. */
  async pushBlob(repository: string, digest: string, body: Readable, length?: number): Promise<BlobStat> {
    parseDigest(digest);
    const { uploadId } = await this.startUpload(repository);
    try {
      return await this.completeUpload(repository, uploadId, digest, body, length === undefined ? {} : { length });
    } catch (err) {
      // The client never saw this session's id, so nobody can resume it.
      await this.storage.deleteUpload(repository, uploadId).catch(() => undefined);
      this.sessionHashes.delete(sessionKey(repository, uploadId));
      throw err;
    }
  }

  private async appendLocked(repository: string, uploadId: string, body: Readable, options: ChunkOptions): Promise<UploadStatus> {
    const { size } = await this.uploadStatus(repository, uploadId);
    const { range, length } = options;
    if (range && (range.start !== size || range.end < range.start)) {
      body.resume();
      throw rangeNotSatisfiable(repository, uploadId, size);
    }
    const expectedBytes = range ? range.end - range.start + 1 : length;
    if (range && length !== undefined && length !== expectedBytes) {
      body.resume();
      throw new RegistryError('SIZE_INVALID', 'Content-Length does not match Content-Range', { status: 416 });
    }
    const key = sessionKey(repository, uploadId);
    let state = this.sessionHashes.take(key);
    if (state && state.size !== size) {
      state.hasher.abort();
      state = undefined;
    }
    // Hash while writing when we hold the running digest; otherwise the data is re-hashed at PUT.
    const counter = new HashingCounter(state?.hasher, expectedBytes);
    let newSize: number;
    try {
      feed(body, counter);
      newSize = await this.storage.appendUpload(repository, uploadId, size, counter);
    } catch (err) {
      state?.hasher.abort();
      body.unpipe(counter);
      body.resume(); // drain what the client still sends, so it gets our answer instead of a reset
      if (err instanceof UploadOffsetError) throw rangeNotSatisfiable(repository, uploadId, err.currentSize);
      if (err instanceof BodyTooLargeError) {
        throw new RegistryError('SIZE_INVALID', 'chunk is longer than its Content-Range', { status: 416 });
      }
      throw err;
    }
    if (state && newSize === size + counter.bytes) this.sessionHashes.set(key, { hasher: state.hasher, size: newSize });
    else state?.hasher.abort();
    if (expectedBytes !== undefined && counter.bytes !== expectedBytes) {
      throw new RegistryError('SIZE_INVALID', `received ${counter.bytes} bytes, expected ${expectedBytes}`);
    }
    return { repository, uploadId, size: newSize };
  }

  private async sessionDigest(repository: string, uploadId: string, size: number, algorithm: Digest['algorithm']): Promise<string> {
    if (size === 0 && algorithm === 'sha256') return EMPTY_SHA256;
    const state = this.sessionHashes.get(sessionKey(repository, uploadId));
    if (algorithm === 'sha256' && state && state.size === size) {
      // A worker that died took the state with it: then the data is re-read like after a restart.
      const running = await state.hasher.peek().catch(() => undefined);
      if (running) return running;
    }
    // Another process fed this session: its running hash, if the storage keeps one with the session.
    const tracked = await this.storage.uploadDigest?.(repository, uploadId, algorithm);
    if (tracked) {
      if (tracked.size !== size) throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload data changed while being read');
      return tracked.digest;
    }
    const hash = createDigester(algorithm);
    let read = 0;
    for await (const chunk of await this.storage.readUpload(repository, uploadId)) {
      hash.update(chunk as Buffer);
      read += (chunk as Buffer).length;
    }
    if (read !== size) throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload data changed while being read');
    return `${algorithm}:${hash.digest('hex')}`;
  }

  // ---- manifests ---------------------------------------------------------------------------

  /**
   * Stores a manifest byte-for-byte under `reference` (a tag, or the digest of the bytes).
   * Validates it and checks that the blobs and child manifests it references exist here.
   */
  async putManifest(repository: string, reference: string, bytes: Uint8Array, contentType?: string): Promise<PutManifestResult> {
    assertRepositoryName(repository);
    if (bytes.length > this.maxManifestBytes) throw manifestTooLarge(this.maxManifestBytes);
    const byDigest = reference.includes(':') ? parseDigest(reference) : undefined;
    if (!byDigest) assertTag(reference);
    const info = parseManifest(bytes, contentType);
    const digest = digestOf(byDigest?.algorithm ?? 'sha256', bytes).value;
    if (byDigest && byDigest.value !== digest) {
      throw new RegistryError('DIGEST_INVALID', 'manifest digest does not match its content', {
        detail: { expected: byDigest.value, actual: digest },
      });
    }
    await this.assertReferencesExist(repository, info);

    await this.storage.putBlob(repository, digest, bytes);
    this.clearCorrupt(repository, digest);
    this.manifestInfos.set(digest, info);
    const entry: Descriptor = { mediaType: info.mediaType, digest, size: bytes.length };
    if (info.artifactType) entry.artifactType = info.artifactType;
    await this.storage.updateIndex(repository, (index) => {
      // Children checked above may have been removed from the index since (garbage collection of
      // untagged manifests): their blobs were touched, so they are still there; list them again.
      const withChildren = keepChildren(index, info.children);
      return byDigest ? (addUntagged(withChildren, entry) ?? (withChildren !== index ? withChildren : undefined)) : setTag(withChildren, reference, entry);
    });
    return { digest, ...(info.subject ? { subject: info.subject.digest } : {}) };
  }

  /** The manifest for a tag or digest, with the media type it was pushed with. */
  async getManifest(repository: string, reference: string): Promise<ManifestContent> {
    const entry = await this.resolveManifest(repository, reference);
    const bytes = await this.loadManifestBytes(repository, entry.digest);
    if (!bytes) throw manifestUnknown(reference);
    return { digest: entry.digest, mediaType: entry.mediaType, size: bytes.length, bytes };
  }

  /** Like {@link getManifest} without reading the bytes (HEAD). */
  async statManifest(repository: string, reference: string): Promise<Omit<ManifestContent, 'bytes'>> {
    const entry = await this.resolveManifest(repository, reference);
    return { digest: entry.digest, mediaType: entry.mediaType, size: entry.size };
  }

  /** Deletes a tag (the manifest stays, untagged) or, by digest, a manifest and all its tags. */
  async deleteManifest(repository: string, reference: string): Promise<void> {
    this.assertDeleteEnabled();
    const entry = await this.resolveManifest(repository, reference);
    const byDigest = reference.includes(':');
    let found = false;
    await this.storage.updateIndex(repository, (index) => {
      const manifests = byDigest
        ? index.manifests.filter((m) => m.digest !== entry.digest)
        : untagOne(index.manifests, reference);
      found = manifests.length !== index.manifests.length || (!byDigest && manifests !== index.manifests);
      return found ? { ...index, manifests } : undefined;
    });
    if (!found) throw manifestUnknown(reference);
  }

  // ---- listings ----------------------------------------------------------------------------

  async listTags(repository: string, page: PageOptions = {}): Promise<Page<string>> {
    assertRepositoryName(repository);
    const index = await this.storage.readIndex(repository);
    if (!index) throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { detail: { name: repository } });
    return paginate(tagsOf(index), page);
  }

  /** Repositories, optionally only those `visible` accepts (access control). */
  async listRepositories(page: PageOptions = {}, visible?: (repository: string) => boolean | Promise<boolean>): Promise<Page<string>> {
    let names = await this.storage.listRepositories();
    if (visible) {
      const allowed = await Promise.all(names.map((name) => visible(name)));
      names = names.filter((_, i) => allowed[i]);
    }
    return paginate(names.sort(compareLexical), page);
  }

  /** Manifests in `repository` whose `subject` is `digest` (the referrers API). */
  async listReferrers(repository: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    assertRepositoryName(repository);
    const subject = parseDigest(digest).value;
    const index = await this.storage.readIndex(repository);
    if (!index) return [];
    const seen = new Set<string>();
    const referrers: Descriptor[] = [];
    for (const entry of index.manifests) {
      if (seen.has(entry.digest)) continue;
      seen.add(entry.digest);
      const info = await this.loadManifestInfo(repository, entry);
      if (!info || info.subject?.digest !== subject) continue;
      const type = referrerArtifactType(info);
      if (artifactType !== undefined && type !== artifactType) continue;
      const descriptor: Descriptor = { mediaType: info.mediaType, digest: entry.digest, size: entry.size };
      if (type) descriptor.artifactType = type;
      if (info.annotations) descriptor.annotations = info.annotations;
      referrers.push(descriptor);
    }
    return referrers;
  }

  // ---- internals ---------------------------------------------------------------------------

  private async resolveManifest(repository: string, reference: string): Promise<Descriptor> {
    assertRepositoryName(repository);
    const byDigest = reference.includes(':') ? parseDigest(reference) : undefined;
    // A reference that cannot be a tag names no manifest: 404, as the conformance suite expects
    // (only a push under such a tag is a client error, TAG_INVALID).
    if (!byDigest && !isValidTag(reference)) throw manifestUnknown(reference);
    const index = await this.storage.readIndex(repository);
    if (!index) throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { detail: { name: repository } });
    const entry = byDigest
      ? index.manifests.find((m) => m.digest === byDigest.value)
      : tagView(index).byTag.get(reference);
    if (!entry) throw manifestUnknown(reference);
    return entry;
  }

  private async loadManifestBytes(repository: string, digest: string): Promise<Buffer | undefined> {
    const cached = this.manifestBytes.get(digest);
    // The cache is shared by all repositories: only use it once this repository holds the digest
    // (the caller resolved it through this repository's index).
    if (cached) return cached;
    if (this.corrupt.get(blobKey(repository, digest)) !== undefined) throw corruptContent(digest);
    const stream = await this.storage.readBlob(repository, digest);
    if (!stream) return undefined;
    const bytes = await readAll(stream, Math.max(this.maxManifestBytes, 64 * 1024 * 1024));
    const parsed = parseDigest(digest);
    const actual = digestOf(parsed.algorithm, bytes).value;
    if (actual !== digest) {
      this.markCorrupt(repository, new CorruptContentError(digest, actual, bytes.length));
      throw corruptContent(digest);
    }
    this.manifestBytes.set(digest, bytes);
    return bytes;
  }

  private async loadManifestInfo(repository: string, entry: Descriptor): Promise<ManifestInfo | undefined> {
    const cached = this.manifestInfos.get(entry.digest);
    if (cached) return cached;
    let bytes: Buffer | undefined;
    try {
      bytes = await this.loadManifestBytes(repository, entry.digest);
    } catch (err) {
      if (err instanceof RegistryError) return undefined; // corrupt: not listed, the scrub names it
      throw err;
    }
    if (!bytes) return undefined;
    try {
      const info = parseManifest(bytes, entry.mediaType);
      this.manifestInfos.set(entry.digest, info);
      return info;
    } catch {
      return undefined; // an unparseable entry (put there by hand) is simply not a referrer
    }
  }

  /**
   * Checks that what the manifest references is here, touching it at the same time: from now on
   * garbage collection sees these blobs as new and keeps them while the manifest is written.
   */
  private async assertReferencesExist(repository: string, info: ManifestInfo): Promise<void> {
    // Foreign (non-distributable) layers carry `urls` and live elsewhere.
    const blobs = info.blobs.filter((b) => !(Array.isArray(b.urls) && b.urls.length > 0));
    const digests = [...new Set([...blobs, ...info.children].map((d) => d.digest))];
    const missing = digests.length > 0 ? await this.storage.touchBlobs(repository, digests) : [];
    if (info.children.length > 0) {
      const index = await this.storage.readIndex(repository);
      const held = new Set(index?.manifests.map((m) => m.digest));
      for (const child of info.children) if (!held.has(child.digest)) missing.push(child.digest);
    }
    if (missing.length > 0) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', 'manifest references a manifest or blob unknown to registry', {
        detail: { digests: [...new Set(missing)] },
      });
    }
  }

  private assertDeleteEnabled(): void {
    if (!this.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletion is disabled on this registry', { status: 405 });
  }
}

// ---- index edits (pure, so storage may retry them) -----------------------------------------

function setTag(index: RepositoryIndex, tag: string, entry: Descriptor): RepositoryIndex {
  const manifests = untagOne(index.manifests, tag).filter((m) => !(m.digest === entry.digest && isUntagged(m)));
  manifests.push({ ...entry, annotations: { [REF_NAME_ANNOTATION]: tag } });
  return { ...index, manifests };
}

function addUntagged(index: RepositoryIndex, entry: Descriptor): RepositoryIndex | undefined {
  if (index.manifests.some((m) => m.digest === entry.digest)) return undefined;
  return { ...index, manifests: [...index.manifests, entry] };
}

/** Removes `tag`; a manifest losing its last tag stays in the index untagged (pullable by digest). */
function untagOne(manifests: Descriptor[], tag: string): Descriptor[] {
  const tagged = manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag);
  if (!tagged) return manifests;
  const rest = manifests.filter((m) => m !== tagged);
  if (!rest.some((m) => m.digest === tagged.digest)) {
    const { annotations, ...untagged } = tagged;
    const others = Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k !== REF_NAME_ANNOTATION));
    rest.push(Object.keys(others).length > 0 ? { ...untagged, annotations: others } : (untagged as Descriptor));
  }
  return rest;
}

function isUntagged(entry: Descriptor): boolean {
  return entry.annotations?.[REF_NAME_ANNOTATION] === undefined;
}

// Backends hand back the same index object while it is unchanged (and index objects are never
// mutated: updates build new ones), so what is derived from one can be cached on it.
const tagViews = new WeakMap<RepositoryIndex, { sorted: string[]; byTag: Map<string, Descriptor> }>();

function tagView(index: RepositoryIndex): { sorted: string[]; byTag: Map<string, Descriptor> } {
  let view = tagViews.get(index);
  if (!view) {
    const byTag = new Map<string, Descriptor>();
    for (const m of index.manifests) {
      const tag = m.annotations?.[REF_NAME_ANNOTATION];
      if (tag !== undefined && !byTag.has(tag)) byTag.set(tag, m);
    }
    view = { sorted: [...byTag.keys()].sort(compareLexical), byTag };
    tagViews.set(index, view);
  }
  return view;
}

function tagsOf(index: RepositoryIndex): string[] {
  return tagView(index).sorted;
}

function compareLexical(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function paginate(sorted: string[], { n, last }: PageOptions): Page<string> {
  let start = 0;
  if (last !== undefined) {
    start = sorted.findIndex((item) => item > last);
    if (start < 0) start = sorted.length;
  }
  if (n === undefined) return { items: sorted.slice(start) };
  const items = sorted.slice(start, start + n);
  const more = start + n < sorted.length && items.length > 0;
  return more ? { items, next: items[items.length - 1]! } : { items };
}

/**
 * Pipes the request body into `into`. Unlike pipeline(), a failure downstream (storage full, a
 * chunk too long) leaves the body alone: destroying it would reset the client's connection
 * before it reads the error response.
 */
function feed(body: Readable, into: HashingCounter): void {
  body.once('error', (err) => into.destroy(err));
  body.pipe(into);
}

function sessionKey(repository: string, uploadId: string): string {
  return `${repository}\u0000${uploadId}`;
}

function blobKey(repository: string, digest: string): string {
  return `${repository}\u0000${digest}`;
}

/** The index with an untagged entry added for each child manifest it no longer lists. */
function keepChildren(index: RepositoryIndex, children: Descriptor[]): RepositoryIndex {
  if (children.length === 0) return index;
  const held = new Set(index.manifests.map((m) => m.digest));
  const lost = children.filter((c) => !held.has(c.digest));
  if (lost.length === 0) return index;
  const entries = [...new Map(lost.map((c) => [c.digest, { mediaType: c.mediaType, digest: c.digest, size: c.size }])).values()];
  return { ...index, manifests: [...index.manifests, ...entries] };
}

function corruptContent(digest: string): RegistryError {
  // A server-side fault: the client's request was fine, the stored bytes are not.
  return new RegistryError('INTERNAL_ERROR', 'stored content is corrupt and is not served', { detail: { digest } });
}

function blobUnknown(digest: string): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { detail: { digest } });
}

function manifestUnknown(reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', { detail: { reference } });
}

function uploadUnknown(): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
}

function manifestTooLarge(limit: number): RegistryError {
  return new RegistryError('SIZE_INVALID', `manifest exceeds the ${limit}-byte limit`, { status: 413 });
}

function rangeNotSatisfiable(repository: string, uploadId: string, size: number): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', `chunk out of order: the upload has ${size} bytes`, {
    status: 416,
    headers: {
      Location: `/v2/${repository}/blobs/uploads/${uploadId}`,
      Range: `0-${Math.max(size - 1, 0)}`,
      'Docker-Upload-UUID': uploadId,
    },
  });
}

