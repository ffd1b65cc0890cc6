import { pipeline, Readable } from 'node:stream';
import { RegistryError } from '../errors.js';
import { digestOf, parseDigest } from '../digest.js';
import { assertRepositoryName } from '../names.js';
import type { BlobRedirects, BlobVersions } from '../storage-capabilities.js';
import type { ByteRange, RegistryStorage } from '../storage.js';
import { readAll } from '../util/streams.js';
import { CorruptContentError, VerifyingStream } from '../util/verifying-stream.js';
import type { BlobIntegrity } from './blob-integrity.js';
import { blobUnknown, corruptContent } from './errors.js';
import type { BlobContent, BlobStat } from './types.js';

// Blobs up to this size are verified before their response starts (one read buffer's worth);
// larger ones while they stream, the connection cut if they turn out corrupt.
const VERIFY_BEFORE_SENDING = 1024 * 1024;

/**
 * Blob reads (whole, ranged, or redirected to the store), deletes and mounts. A whole-blob read
 * is verified while it flows, unless the storage's version token says these very bytes were
 * verified before; a blob found corrupt is refused until it is written again.
 */
export class Blobs {
  private readonly versions: BlobVersions | undefined;
  private readonly redirects: BlobRedirects | undefined;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly integrity: BlobIntegrity,
    private readonly verifyReads: boolean,
  ) {
    this.versions = storage.capabilities?.blobVersions;
    this.redirects = storage.capabilities?.blobRedirects;
  }

  async stat(repository: string, digest: string): Promise<BlobStat> {
    assertRepositoryName(repository);
    const d = parseDigest(digest);
    const size = await this.storage.statBlob(repository, d.value);
    if (size === undefined) throw blobUnknown(d.value);
    return { digest: d.value, size };
  }

  async read(repository: string, digest: string, range?: ByteRange, signal?: AbortSignal): Promise<BlobContent> {
    const { size } = await this.stat(repository, digest);
    if (this.integrity.isCorrupt(repository, digest)) throw corruptContent(digest);
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
    const verify = !served && this.verifyReads;
    // Taken before the read: bytes changed during the read get a newer version, never this one.
    const version = verify ? await this.versions?.blobVersion(repository, digest) : undefined;
    const readOptions = { ...(served ? { range: served } : {}), ...(signal ? { signal } : {}) };
    const stored = await this.storage.readBlob(repository, digest, readOptions);
    if (!stored) throw blobUnknown(digest);
    let stream = stored;
    const onVerified = (): void => {
      if (version !== undefined) this.integrity.markVerified(repository, digest, version);
    };
    if (!verify || (version !== undefined && this.integrity.isVerified(repository, digest, version))) {
      // Served as stored: a range (the client checks the whole), or bytes already verified.
    } else if (size <= VERIFY_BEFORE_SENDING) {
      // Small enough to check before the response starts: a corrupt one gets a clean 500 answer.
      const bytes = await readAll(stored, size + 1);
      const actual = digestOf(parseDigest(digest).algorithm, bytes).value;
      if (actual !== digest || bytes.length !== size) {
        this.integrity.markCorrupt(repository, new CorruptContentError(digest, actual, bytes.length));
        throw corruptContent(digest);
      }
      onVerified();
      stream = Readable.from([bytes]);
    } else {
      const verifier = new VerifyingStream(parseDigest(digest), size, {
        onCorrupt: (err) => this.integrity.markCorrupt(repository, err),
        onVerified,
      });
      verifier.recycleInto(stored);
      // Errors travel both ways: a failed read fails the verifier, a destroyed verifier closes the file.
      pipeline(stored, verifier, () => undefined);
      stream = verifier;
    }
    return { digest, size, stream, ...(served ? { range: served } : {}) };
  }

  /** The store's direct URL for the blob, after the existence and corruption checks; undefined without redirects. */
  async redirect(repository: string, digest: string): Promise<{ digest: string; url: string } | undefined> {
    if (!this.redirects) return undefined;
    const stat = await this.stat(repository, digest);
    if (this.integrity.isCorrupt(repository, stat.digest)) throw corruptContent(stat.digest);
    const url = await this.redirects.blobRedirectUrl(repository, stat.digest);
    return url ? { digest: stat.digest, url } : undefined;
  }

  async delete(repository: string, digest: string): Promise<void> {
    assertRepositoryName(repository);
    const d = parseDigest(digest);
    if (!(await this.storage.deleteBlob(repository, d.value))) throw blobUnknown(d.value);
  }

  async mount(repository: string, from: string, digest: string): Promise<boolean> {
    assertRepositoryName(repository);
    const d = parseDigest(digest);
    assertRepositoryName(from);
    if (from === repository) return (await this.storage.statBlob(repository, d.value)) !== undefined;
    const mounted = await this.storage.mountBlob(from, repository, d.value);
    if (mounted) this.integrity.written(repository, d.value);
    return mounted;
  }
}
