import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { RegistryError } from '../errors.js';
import { createDigester, digestOf, parseDigest, type Digest } from '../digest.js';
import { assertRepositoryName, isValidUploadId } from '../names.js';
import type { UploadDigests } from '../storage-capabilities.js';
import { UploadOffsetError, type RegistryStorage } from '../storage.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { offThreadHasher, type Hasher } from '../util/hash-worker.js';
import { LruCache } from '../util/lru.js';
import { BodyTooLargeError, HashingCounter } from '../util/streams.js';
import type { BlobIntegrity } from './blob-integrity.js';
import { rangeNotSatisfiable, uploadUnknown } from './errors.js';
import type { BlobStat, ChunkOptions, UploadStatus } from './types.js';

/** The running digest of an upload session this process fed, and how many bytes it covers. */
interface SessionHash {
  hasher: Hasher;
  size: number;
}

const EMPTY_SHA256 = digestOf('sha256', new Uint8Array()).value;

/**
 * Blob upload sessions (POST, PATCH, PUT, DELETE of `/blobs/uploads/`): chunks appended in order,
 * hashed while they are written, and a blob made visible only when everything received hashes to
 * the digest the client names. Requests to one session are serialized within the process; the
 * storage keeps them in order across processes.
 */
export class UploadSessions {
  private readonly locks = new KeyedMutex();
  // Running sha256 of each session this process fed, so PUT after PATCH does not re-read the data.
  // Lost on restart or on another replica: then the storage's running hash or the stored data is
  // used (correct, slower). The hashing runs on a worker thread (see util/hash-worker.ts); an
  // evicted state frees it.
  private readonly hashes = new LruCache<string, SessionHash>(4096, undefined, (state) => state.hasher.abort());
  private readonly tracked: UploadDigests | undefined;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly integrity: BlobIntegrity,
    private readonly expiryMs: number,
  ) {
    this.tracked = storage.capabilities?.uploadDigests;
  }

  async start(repository: string): Promise<UploadStatus> {
    assertRepositoryName(repository);
    const uploadId = randomUUID();
    await this.storage.createUpload(repository, uploadId);
    this.hashes.set(sessionKey(repository, uploadId), { hasher: offThreadHasher('sha256'), size: 0 });
    return { repository, uploadId, size: 0 };
  }

  async status(repository: string, uploadId: string): Promise<UploadStatus> {
    assertRepositoryName(repository);
    const info = isValidUploadId(uploadId) ? await this.storage.statUpload(repository, uploadId) : undefined;
    if (!info) throw uploadUnknown();
    const lastActive = (info.modifiedAt ?? info.startedAt).getTime();
    if (this.expiryMs > 0 && Date.now() - lastActive > this.expiryMs) {
      // Abandoned: the client would not get its data back in one piece anyway after a gc pass.
      await this.storage.deleteUpload(repository, uploadId).catch(() => undefined);
      this.hashes.delete(sessionKey(repository, uploadId));
      throw uploadUnknown();
    }
    return { repository, uploadId, size: info.size };
  }

  async append(repository: string, uploadId: string, body: Readable, options: ChunkOptions): Promise<UploadStatus> {
    assertRepositoryName(repository);
    return this.locks.run(sessionKey(repository, uploadId), () => this.appendLocked(repository, uploadId, body, options));
  }

  async complete(
    repository: string,
    uploadId: string,
    digest: string,
    body: Readable | undefined,
    options: ChunkOptions,
  ): Promise<BlobStat> {
    assertRepositoryName(repository);
    const expected = parseDigest(digest);
    return this.locks.run(sessionKey(repository, uploadId), async () => {
      const status = body ? await this.appendLocked(repository, uploadId, body, options) : await this.status(repository, uploadId);
      const actual = await this.sessionDigest(repository, uploadId, status.size, expected.algorithm);
      if (actual !== expected.value) {
        throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
          detail: { expected: expected.value, actual },
        });
      }
      const version = await this.storage.commitUpload(repository, uploadId, expected.value, status.size);
      this.hashes.delete(sessionKey(repository, uploadId));
      this.integrity.written(repository, expected.value);
      // The stored blob is the bytes just hashed: its first read need not hash them again.
      if (typeof version === 'string') this.integrity.markVerified(repository, expected.value, version);
      return { digest: expected.value, size: status.size };
    });
  }

  async cancel(repository: string, uploadId: string): Promise<void> {
    assertRepositoryName(repository);
    if (!isValidUploadId(uploadId) || !(await this.storage.deleteUpload(repository, uploadId))) throw uploadUnknown();
    this.hashes.delete(sessionKey(repository, uploadId));
  }

  /** Monolithic upload in one call (POST `?digest=`): session, body, verify, commit. */
  async push(repository: string, digest: string, body: Readable, length?: number): Promise<BlobStat> {
    parseDigest(digest);
    const { uploadId } = await this.start(repository);
    try {
      return await this.complete(repository, uploadId, digest, body, length === undefined ? {} : { length });
    } catch (err) {
      // The client never saw this session's id, so nobody can resume it.
      await this.storage.deleteUpload(repository, uploadId).catch(() => undefined);
      this.hashes.delete(sessionKey(repository, uploadId));
      throw err;
    }
  }

  private async appendLocked(repository: string, uploadId: string, body: Readable, options: ChunkOptions): Promise<UploadStatus> {
    const { size } = await this.status(repository, uploadId);
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
    let state = this.hashes.take(key);
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
    if (state && newSize === size + counter.bytes) this.hashes.set(key, { hasher: state.hasher, size: newSize });
    else state?.hasher.abort();
    if (expectedBytes !== undefined && counter.bytes !== expectedBytes) {
      throw new RegistryError('SIZE_INVALID', `received ${counter.bytes} bytes, expected ${expectedBytes}`);
    }
    return { repository, uploadId, size: newSize };
  }

  /** The digest of the session's first `size` bytes: from our running hash, the storage's, or by reading them. */
  private async sessionDigest(repository: string, uploadId: string, size: number, algorithm: Digest['algorithm']): Promise<string> {
    if (size === 0 && algorithm === 'sha256') return EMPTY_SHA256;
    const state = this.hashes.get(sessionKey(repository, uploadId));
    if (algorithm === 'sha256' && state && state.size === size) {
      // A worker that died took the state with it: then the data is re-read like after a restart.
      const running = await state.hasher.peek().catch(() => undefined);
      if (running) return running;
    }
    // Another process fed this session: its running hash, if the storage keeps one with the session.
    const tracked = await this.tracked?.uploadDigest(repository, uploadId, algorithm);
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
