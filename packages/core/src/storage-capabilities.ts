import type { Readable } from 'node:stream';

/**
 * Optional capabilities of a storage backend: speed-ups and extras beyond the required
 * {@link RegistryStorage} methods. A backend offers one by setting it in its `capabilities`
 * object (often to itself: `capabilities = { blobVersions: this }`); core looks there and nowhere
 * else, and falls back as each entry says when it is absent. None of them changes what the
 * registry answers, only how fast or what an operator can see. The contract test kit checks
 * every capability a backend lists.
 */
export interface StorageCapabilities {
  /** Running hashes kept with upload sessions. Without: core re-reads a session it did not feed itself. */
  uploadDigests?: UploadDigests;
  /** Version tokens of stored blobs. Without: every full blob read is hashed again while it streams. */
  blobVersions?: BlobVersions;
  /** Direct (presigned) blob URLs for clients. Without: blob bytes stream through the registry. */
  blobRedirects?: BlobRedirects;
  /** Removal of what interrupted work left behind. Without: garbage collection removes nothing more. */
  leftovers?: LeftoverRemoval;
  /** A readiness check answered by the storage itself. Without: health reads a repository index instead. */
  health?: HealthProbe;
  /** Space and sessions per repository. Without: the storage gauges are not exported. */
  usage?: UsageReporting;
}

/** For {@link StorageCapabilities.uploadDigests}. */
export interface UploadDigests {
  /**
   * The digest of the session's data so far, when the backend keeps a running hash with the
   * session (so any process sharing the storage can finish a session another one fed, without
   * re-reading its data). Core asks when it holds no running hash itself (after a restart, or when
   * the chunks went to another replica) before falling back to `readUpload`. Resolves to undefined
   * when the backend does not track this algorithm or this session. The digest and size come from
   * one consistent state of the session.
   */
  uploadDigest(repository: string, uploadId: string, algorithm: 'sha256' | 'sha512'): Promise<UploadDigest | undefined>;
}

/** What {@link UploadDigests.uploadDigest} reports: the digest and the number of bytes it covers. */
export interface UploadDigest {
  /** `<algorithm>:<hex>` */
  digest: string;
  size: number;
}

/** For {@link StorageCapabilities.blobVersions}. */
export interface BlobVersions {
  /**
   * A token for the blob's stored bytes as they are now (for a file: device, inode, size,
   * modification and change times), or undefined if absent. It must change whenever those bytes
   * may have changed. Core hashes a blob on its first full read only and serves later reads
   * unhashed while the token stays the same. Called on every blob GET, so it must be cheap.
   * (A backend with this capability may also resolve `commitUpload` to the new blob's token.)
   */
  blobVersion(repository: string, digest: string): Promise<string | undefined>;
}

/** For {@link StorageCapabilities.blobRedirects}. */
export interface BlobRedirects {
  /**
   * A URL the client may fetch the blob from directly (a presigned object-store URL that also
   * honours `Range`), valid for at least a few minutes; undefined to stream it through the
   * registry as usual. Core calls it for blob GETs only after its existence and authorization
   * checks, and answers `307` with this URL as `Location`. Must not need a round trip to the
   * store for a blob that exists (core has just checked).
   */
  blobRedirectUrl(repository: string, digest: string): Promise<string | undefined>;
}

/** For {@link StorageCapabilities.leftovers}. */
export interface LeftoverRemoval {
  /**
   * Removes what interrupted work left behind anywhere in the storage (temporary files of a write
   * cut short by a crash, unused deduplication entries) when older than `olderThan`. Never an
   * upload session or a blob. Garbage collection calls it once per pass. Resolves to the number
   * of leftovers removed.
   */
  removeLeftovers(olderThan: Date): Promise<number>;
}

/** For {@link StorageCapabilities.health}. */
export interface HealthProbe {
  /**
   * Resolves when the storage is reachable and accepts writes now; rejects when it does not. The
   * rejection's `code` (else its `name`) is what `/readyz` and the logs show, so it is a short
   * identifier (`EACCES`, `ENOSPC`, `NoSuchBucket`), never a path or a secret. Called every few
   * seconds by each process, so it must be cheap in time and in money, and it leaves nothing a
   * listing shows.
   */
  probe(): Promise<void>;
}

/** For {@link StorageCapabilities.usage}. */
export interface UsageReporting {
  /**
   * What the repository holds now, measured from the storage; undefined when it does not exist.
   * Called for every repository once at startup and then only for a repository that changed,
   * never per scrape, so it may list the repository's blobs.
   */
  repositoryUsage(repository: string): Promise<RepositoryUsage | undefined>;
}

/** What one repository holds, as {@link UsageReporting.repositoryUsage} reports it. */
export interface RepositoryUsage {
  /**
   * Everything stored for the repository (blobs, index, layout files; not upload data), as
   * identity -> size in bytes. Items that share their bytes (hard links, a store's own
   * deduplication) share an identity, so a total across repositories counts them once; anything
   * else gets an identity of its own (its path or key).
   */
  stored: ReadonlyMap<string, number>;
  /** Upload sessions in progress. */
  uploadSessions: number;
}

/**
 * Recycled read buffers: a capability of a blob stream rather than of the storage. `readBlob`
 * may return a stream with a `recycle(chunk)` method: the consumer's promise that nothing refers
 * to the chunk's bytes any more (the socket has taken them). The stream then refills that memory
 * instead of allocating more; chunks never handed back are simply garbage-collected. The OCI
 * layout backend's blob reads are such streams; the HTTP adapter hands their chunks back.
 */
export interface RecyclingReadable extends Readable {
  recycle(chunk: Buffer): void;
}

export function isRecycling(stream: Readable): stream is RecyclingReadable {
  return typeof (stream as Partial<RecyclingReadable>).recycle === 'function';
}
