import { randomBytes } from 'node:crypto';
import { type Readable, addAbortSignal } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  DigestAlgorithms,
  tryParseDigest,
  type BlobEntry,
  type BlobRedirects,
  type DeleteBlobOptions,
  type HealthProbe,
  type IndexUpdate,
  type LeftoverRemoval,
  type ReadBlobOptions,
  type RegistryStorage,
  type RepositoryIndex,
  type RepositoryUsage,
  type StorageCapabilities,
  type UploadDigest,
  type UploadDigests,
  type UploadEntry,
  type UploadInfo,
  type UsageReporting,
} from '@zotjs/core';
import { probeConditionalWrites, type ConditionalStyle } from './conditional.js';
import { BlobGuard } from './blob-guard.js';
import { Bucket } from './bucket.js';
import { ObjectCopier } from './copier.js';
import { BucketProbe } from './health-probe.js';
import { IndexStore } from './index-store.js';
import { KeyLayout, TOUCH_PREFIX, UPLOADS } from './keys.js';
import { removeLeftovers } from './leftovers.js';
import {
  DEFAULT_PART_SIZE,
  DEFAULT_REDIRECT_EXPIRY,
  MAX_COPY_SIZE,
  MAX_REDIRECT_EXPIRY,
  MIN_PART_SIZE,
  type S3StorageOptions,
} from './options.js';
import { createClient, isNotFound, mapLimit } from './s3-util.js';
import { UploadSessions } from './uploads.js';
import { measureRepository } from './usage.js';

// The store's answer to the conditional-write probe, shared by instances on the same bucket.
const probes = new Map<string, Promise<ConditionalStyle>>();

function probeOnce(storeId: string, probe: () => Promise<ConditionalStyle>): Promise<ConditionalStyle> {
  let found = probes.get(storeId);
  if (!found) {
    found = probe();
    probes.set(storeId, found);
  }
  return found;
}

/**
 * A {@link RegistryStorage} on an S3-compatible object store. Object keys mirror the OCI image layout
 * (`<root>/<repo>/index.json`, `<root>/<repo>/blobs/sha256/<hex>`), and everything, upload sessions
 * included, lives in the bucket: any number of registry replicas may share it.
 *
 * Its parts: {@link IndexStore} (index.json with conditional writes), {@link UploadSessions},
 * {@link BlobGuard} (garbage collection against touches), {@link ObjectCopier} (server-side copies).
 * Optional capabilities: running upload digests, presigned redirects (with `redirect` on), leftover
 * removal, a health probe of the bucket and per-repository usage from listings.
 */
export class S3Storage implements RegistryStorage, UploadDigests, BlobRedirects, LeftoverRemoval, HealthProbe, UsageReporting {
  readonly client: S3Client;
  readonly bucket: string;
  readonly keys: KeyLayout;
  readonly capabilities: StorageCapabilities;
  private readonly store: Bucket;
  private readonly prober: BucketProbe;
  private readonly indexes: IndexStore;
  private readonly uploads: UploadSessions;
  private readonly copier: ObjectCopier;
  private readonly onWarning: ((message: string, details?: Record<string, unknown>) => void) | undefined;
  private readonly guard: BlobGuard;
  private probed: Promise<ConditionalStyle> | undefined;
  private readonly storeId: string;
  /** Seconds a presigned blob URL is valid; 0 when blob pulls are not redirected. */
  private readonly redirectExpiry: number;

  constructor(options: S3StorageOptions, client?: S3Client) {
    const partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (partSize < MIN_PART_SIZE) throw new Error(`partSize must be at least ${MIN_PART_SIZE} bytes (S3's minimum part size)`);
    const copyPartSize = Math.min(options.copyPartSize ?? MAX_COPY_SIZE, MAX_COPY_SIZE);
    this.client = client ?? createClient(options);
    this.bucket = options.bucket;
    this.keys = new KeyLayout(options.rootDirectory);
    this.onWarning = options.onWarning;
    const expiry = options.redirectExpiry ?? DEFAULT_REDIRECT_EXPIRY;
    if (!Number.isSafeInteger(expiry) || expiry < 1 || expiry > MAX_REDIRECT_EXPIRY) {
      throw new Error(`redirectExpiry must be between 1 and ${MAX_REDIRECT_EXPIRY} seconds`);
    }
    this.redirectExpiry = options.redirect ? expiry : 0;
    this.storeId = `${options.endpoint ?? 'aws'}|${options.region ?? ''}|${options.bucket}`;
    const conditional = (): Promise<ConditionalStyle> => this.conditionalWrites();
    this.store = new Bucket(this.client, this.bucket);
    this.copier = new ObjectCopier(this.client, this.bucket, copyPartSize);
    this.guard = new BlobGuard(this.client, this.bucket, this.keys);
    this.indexes = new IndexStore(this.client, this.bucket, this.keys, conditional);
    this.uploads = new UploadSessions({ bucket: this.store, keys: this.keys, partSize, copier: this.copier, conditional });
    this.prober = new BucketProbe(this.store, this.keys);
    this.capabilities = {
      uploadDigests: this,
      // Only with `redirect` on: without, blob pulls stream through the registry.
      ...(this.redirectExpiry > 0 ? { blobRedirects: this } : {}),
      leftovers: this,
      health: this,
      usage: this,
    };
  }

  /**
   * How the store honours conditional writes, found out once per instance with a scratch object.
   * 'none' (the store ignores If-Match) is reported through `onWarning`: then only one replica is safe.
   */
  conditionalWrites(): Promise<ConditionalStyle> {
    this.probed ??= probeOnce(this.storeId, () =>
      probeConditionalWrites(this.client, this.bucket, this.keys.probe(randomBytes(8).toString('hex'))),
    ).then(
      (style) => {
        if (style === 'none') {
          this.onWarning?.(
            'the object store ignores conditional writes (If-Match): run one replica only, or concurrent tag pushes may overwrite each other',
            {
              bucket: this.bucket,
            },
          );
        }
        return style;
      },
      (err: unknown) => {
        this.probed = undefined; // try again next time (the store may still be starting)
        probes.delete(this.storeId);
        throw err;
      },
    );
    return this.probed;
  }

  async listRepositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (prefix: string, name: string): Promise<void> => {
      const { folders, files } = await this.store.listLevel(prefix);
      if (name && files.some((f) => f.key === 'index.json')) found.push(name);
      const children = folders.filter((f) => f !== 'blobs' && f !== UPLOADS && !f.startsWith('.'));
      await mapLimit(children, 8, (child) => walk(`${prefix}${child}/`, name ? `${name}/${child}` : child));
    };
    await walk(this.keys.root, '');
    return found;
  }

  readIndex(repository: string): Promise<RepositoryIndex | undefined> {
    return this.indexes.read(repository);
  }

  updateIndex(repository: string, update: IndexUpdate): Promise<RepositoryIndex> {
    return this.indexes.update(repository, update);
  }

  async statBlob(repository: string, digest: string): Promise<number | undefined> {
    return (await this.store.head(this.keys.blob(repository, digest)))?.size;
  }

  async readBlob(repository: string, digest: string, options: ReadBlobOptions = {}): Promise<Readable | undefined> {
    const { range, signal } = options;
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.keys.blob(repository, digest),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
      const body = out.Body as Readable;
      return signal ? addAbortSignal(signal, body) : body;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async putBlob(repository: string, digest: string, data: Uint8Array): Promise<void> {
    await this.indexes.ensure(repository);
    // Writing the blob again (even when held) renews its modification time, as the contract asks.
    await this.rewriteUntilSettled(repository, digest, async () => {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.keys.blob(repository, digest),
          Body: data,
          ContentLength: data.length,
          ContentType: 'application/octet-stream',
        }),
      );
      return true;
    });
  }

  async deleteBlob(repository: string, digest: string, options: DeleteBlobOptions = {}): Promise<boolean> {
    if (options.unmodifiedSince) return this.guard.deleteIfUnmodifiedSince(repository, digest, options.unmodifiedSince);
    // S3 answers a delete the same whether the object existed or not: ask first.
    if ((await this.statBlob(repository, digest)) === undefined) return false;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keys.blob(repository, digest) }));
    await this.guard.forgetTouches(repository, digest);
    return true;
  }

  async touchBlobs(repository: string, digests: readonly string[]): Promise<string[]> {
    const unique = [...new Set(digests)];
    const held = await mapLimit(unique, 8, (digest) => this.guard.touch(repository, digest));
    return unique.filter((_, i) => !held[i]);
  }

  async mountBlob(fromRepository: string, toRepository: string, digest: string): Promise<boolean> {
    await this.indexes.ensure(toRepository);
    return this.rewriteUntilSettled(toRepository, digest, async () => {
      const size = await this.statBlob(fromRepository, digest);
      if (size === undefined) return false;
      try {
        // A server-side copy: the bytes never pass through the registry (and Ceph shares them).
        await this.copier.copy(this.keys.blob(fromRepository, digest), this.keys.blob(toRepository, digest), size);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false; // deleted from `fromRepository` meanwhile
        throw err;
      }
    });
  }

  async createUpload(repository: string, uploadId: string): Promise<void> {
    await this.indexes.ensure(repository);
    await this.uploads.create(repository, uploadId);
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

  async commitUpload(repository: string, uploadId: string, digest: string, size: number): Promise<void> {
    await this.indexes.ensure(repository);
    await this.uploads.commit(repository, uploadId, size, this.keys.blob(repository, digest), () => this.guard.settled(repository, digest));
  }

  deleteUpload(repository: string, uploadId: string): Promise<boolean> {
    return this.uploads.delete(repository, uploadId);
  }

  async listBlobs(repository: string): Promise<BlobEntry[]> {
    const prefix = this.keys.blobs(repository);
    // A blob's modification time is the later of its own and its touch record's (see BlobGuard).
    const touchPrefix = `${this.keys.uploads(repository)}${TOUCH_PREFIX}`;
    const touched = new Map(
      (await this.store.list(touchPrefix)).map((o) => [o.key.slice(touchPrefix.length).replace('-', ':'), o.modified]),
    );
    const objects = await this.store.list(prefix);
    const entries: BlobEntry[] = [];
    for (const o of objects) {
      const [algorithm, hex, ...rest] = o.key.slice(prefix.length).split('/');
      if (rest.length > 0 || !algorithm || !hex || !Object.hasOwn(DigestAlgorithms, algorithm)) continue;
      const digest = `${algorithm}:${hex}`;
      if (!tryParseDigest(digest)) continue; // stray objects are not blobs
      const touch = touched.get(digest);
      entries.push({ digest, size: o.size, modifiedAt: touch && touch > o.modified ? touch : o.modified });
    }
    return entries;
  }

  listUploads(repository: string): Promise<UploadEntry[]> {
    return this.uploads.list(repository);
  }

  // ---- optional capabilities ---------------------------------------------------------------

  /** From the running sha256 saved with the session at every append (sha512 is not tracked: core re-reads). */
  async uploadDigest(repository: string, uploadId: string, algorithm: 'sha256' | 'sha512'): Promise<UploadDigest | undefined> {
    return algorithm === 'sha256' ? this.uploads.digest(repository, uploadId) : undefined;
  }

  /**
   * With `redirect` on: a presigned GET URL of the blob (signed locally, no request to the store). The
   * client sends its Range header to it as it would to the registry.
   */
  async blobRedirectUrl(repository: string, digest: string): Promise<string | undefined> {
    if (this.redirectExpiry === 0) return undefined;
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.keys.blob(repository, digest) });
    return getSignedUrl(this.client, command, { expiresIn: this.redirectExpiry });
  }

  /** See leftovers.ts: stale scratch objects, markers, touch records of deleted blobs, orphaned multipart copies. */
  async removeLeftovers(olderThan: Date): Promise<number> {
    const exists = async (repository: string, digest: string): Promise<boolean> => (await this.statBlob(repository, digest)) !== undefined;
    return removeLeftovers(this.store, this.keys, await this.listRepositories(), exists, olderThan);
  }

  /** The bucket answers for itself (see health-probe.ts), never a local folder. */
  probe(): Promise<void> {
    return this.prober.probe();
  }

  /** From listings of the repository's keys (see usage.ts). */
  repositoryUsage(repository: string): Promise<RepositoryUsage | undefined> {
    return measureRepository(this.store, this.keys, repository);
  }

  /** Closes the client's connections. */
  destroy(): void {
    this.client.destroy();
  }

  /**
   * Runs `write` (which answers false when there is nothing to write), then makes sure a garbage
   * collection deleting an older copy of the blob at that moment did not remove the new one.
   */
  private async rewriteUntilSettled(repository: string, digest: string, write: () => Promise<boolean>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (!(await write())) return false;
      if (await this.guard.settled(repository, digest)) return true;
      if (attempt >= 5) throw new Error(`blob ${digest} of ${repository} keeps being deleted while written`);
    }
  }
}
