import type { Readable } from 'node:stream';
import type { RegistryEvents } from '../events.js';
import type { ByteRange, RegistryStorage } from '../storage.js';

/** The public types of {@link Registry}'s options and answers. */

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
  /** The event bus to announce changes on (default: a new one, `registry.events`); share one between registries to merge their events. */
  events?: RegistryEvents;
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
