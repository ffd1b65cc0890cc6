import type { Readable } from 'node:stream';
import { RegistryError } from './errors.js';
import { RegistryEvents, type EventActor } from './events.js';
import type { Descriptor } from './repository-index.js';
import type { ByteRange, RegistryStorage } from './storage.js';
import { BlobIntegrity } from './registry/blob-integrity.js';
import { Blobs } from './registry/blobs.js';
import { Listings } from './registry/listings.js';
import { Manifests } from './registry/manifests.js';
import type {
  BlobContent,
  BlobStat,
  ChunkOptions,
  ManifestContent,
  Page,
  PageOptions,
  PutManifestResult,
  RegistryOptions,
  UploadStatus,
} from './registry/types.js';
import { UploadSessions } from './registry/upload-sessions.js';

export type * from './registry/types.js';

const DEFAULT_MAX_MANIFEST = 4 * 1024 * 1024;
const DEFAULT_UPLOAD_EXPIRY_MS = 60 * 60 * 1000;

/**
 * The distribution-spec state machine over a {@link RegistryStorage}: upload sessions with
 * streaming digest verification, manifests, tags, referrers and listings. This is also the typed
 * programmatic API for embedders: everything the HTTP handler does goes through it.
 *
 * Each concern is a part of its own (registry/): {@link Blobs} (reads, verified once, redirects,
 * deletes, mounts), {@link UploadSessions}, {@link Manifests} (and tags), {@link Listings}, and
 * {@link BlobIntegrity}, what reads learnt about stored bytes, which they all share. This class
 * holds the options and the policy that spans them (whether deletes are allowed).
 */
export class Registry {
  readonly storage: RegistryStorage;
  readonly maxManifestBytes: number;
  readonly deleteEnabled: boolean;
  readonly verifyBlobReads: boolean;
  readonly uploadExpiryMs: number;
  /** What happens in this registry: subscribe with `events.on(...)`, refuse pushes with `events.beforeManifestPush(...)`. */
  readonly events: RegistryEvents;
  private readonly integrity: BlobIntegrity;
  private readonly blobs: Blobs;
  private readonly uploads: UploadSessions;
  private readonly manifests: Manifests;
  private readonly listings: Listings;

  constructor(options: RegistryOptions) {
    this.storage = options.storage;
    this.maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST;
    this.deleteEnabled = options.deleteEnabled ?? true;
    this.verifyBlobReads = options.verifyBlobReads ?? true;
    this.uploadExpiryMs = options.uploadExpiryMs ?? DEFAULT_UPLOAD_EXPIRY_MS;
    this.events = options.events ?? new RegistryEvents();
    this.integrity = new BlobIntegrity(options.onCorruptContent);
    this.blobs = new Blobs(this.storage, this.integrity, this.verifyBlobReads);
    this.uploads = new UploadSessions(this.storage, this.integrity, this.uploadExpiryMs);
    this.manifests = new Manifests(this.storage, this.integrity, this.maxManifestBytes, this.events);
    this.listings = new Listings(this.storage, this.manifests);
  }

  // ---- blobs -------------------------------------------------------------------------------

  statBlob(repository: string, digest: string): Promise<BlobStat> {
    return this.blobs.stat(repository, digest);
  }

  /**
   * The blob's bytes, or the inclusive `range` of them. Throws 416 for an unsatisfiable range.
   * A whole-blob stream is verified while it flows (see {@link RegistryOptions.verifyBlobReads}).
   */
  readBlob(repository: string, digest: string, range?: ByteRange, signal?: AbortSignal): Promise<BlobContent> {
    return this.blobs.read(repository, digest, range, signal);
  }

  /**
   * Where the client may fetch the blob itself (the storage's `blobRedirects` capability), or
   * undefined to serve it through {@link readBlob}. Checks that the blob exists (BLOB_UNKNOWN)
   * and is not known to be corrupt first. The store serves the bytes, so they are not verified on read.
   */
  blobRedirect(repository: string, digest: string): Promise<{ digest: string; url: string } | undefined> {
    return this.blobs.redirect(repository, digest);
  }

  /** Whether a read found this blob corrupt (it is refused until it is written again). */
  isMarkedCorrupt(repository: string, digest: string): boolean {
    return this.integrity.isCorrupt(repository, digest);
  }

  async deleteBlob(repository: string, digest: string): Promise<void> {
    this.assertDeleteEnabled();
    await this.blobs.delete(repository, digest);
  }

  /**
   * Cross-repository mount: true when `from` held the blob and `repository` now does too.
   * False means "not mountable"; the caller then opens a normal upload session.
   */
  mountBlob(repository: string, from: string, digest: string): Promise<boolean> {
    return this.blobs.mount(repository, from, digest);
  }

  // ---- uploads -----------------------------------------------------------------------------

  startUpload(repository: string): Promise<UploadStatus> {
    return this.uploads.start(repository);
  }

  uploadStatus(repository: string, uploadId: string): Promise<UploadStatus> {
    return this.uploads.status(repository, uploadId);
  }

  /** Appends one chunk (PATCH). With a range, its start must be the session's size, else 416. */
  appendChunk(repository: string, uploadId: string, body: Readable, options: ChunkOptions = {}): Promise<UploadStatus> {
    return this.uploads.append(repository, uploadId, body, options);
  }

  /**
   * Closes the session (PUT `?digest=`), appending `body` first when it is a final chunk. The blob
   * becomes visible only if the digest of everything received matches; else DIGEST_INVALID and
   * nothing is stored.
   */
  completeUpload(repository: string, uploadId: string, digest: string, body?: Readable, options: ChunkOptions = {}): Promise<BlobStat> {
    return this.uploads.complete(repository, uploadId, digest, body, options);
  }

  cancelUpload(repository: string, uploadId: string): Promise<void> {
    return this.uploads.cancel(repository, uploadId);
  }

  /** Monolithic upload in one call (POST `?digest=`): session, body, verify, commit. */
  pushBlob(repository: string, digest: string, body: Readable, length?: number): Promise<BlobStat> {
    return this.uploads.push(repository, digest, body, length);
  }

  // ---- manifests ---------------------------------------------------------------------------

  /**
   * Stores a manifest byte-for-byte under `reference` (a tag, or the digest of the bytes).
   * Validates it and checks that the blobs and child manifests it references exist here.
   */
  putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    contentType?: string,
    actor?: EventActor,
  ): Promise<PutManifestResult> {
    return this.manifests.put(repository, reference, bytes, contentType, actor);
  }

  /**
   * The manifest for a tag or digest, with the media type it was pushed with. With `pull`, this is
   * a client's pull (announced as `manifest.pulled`); without, a read by the registry's own code.
   */
  getManifest(repository: string, reference: string, pull?: EventActor): Promise<ManifestContent> {
    return this.manifests.get(repository, reference, pull);
  }

  /** Like {@link getManifest} without reading the bytes (HEAD). */
  statManifest(repository: string, reference: string): Promise<Omit<ManifestContent, 'bytes'>> {
    return this.manifests.stat(repository, reference);
  }

  /** Deletes a tag (the manifest stays, untagged) or, by digest, a manifest and all its tags. */
  async deleteManifest(repository: string, reference: string, actor?: EventActor): Promise<void> {
    this.assertDeleteEnabled();
    await this.manifests.delete(repository, reference, actor);
  }

  // ---- listings ----------------------------------------------------------------------------

  listTags(repository: string, page: PageOptions = {}): Promise<Page<string>> {
    return this.listings.tags(repository, page);
  }

  /** Repositories, optionally only those `visible` accepts (access control). */
  listRepositories(page: PageOptions = {}, visible?: (repository: string) => boolean | Promise<boolean>): Promise<Page<string>> {
    return this.listings.repositories(page, visible);
  }

  /** Manifests in `repository` whose `subject` is `digest` (the referrers API). */
  listReferrers(repository: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    return this.listings.referrers(repository, digest, artifactType);
  }

  private assertDeleteEnabled(): void {
    if (!this.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletion is disabled on this registry', { status: 405 });
  }
}
