import { randomBytes } from 'node:crypto';
import { Readable, addAbortSignal } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { RegistryError, UploadOffsetError, isValidUploadId, type UploadEntry, type UploadInfo } from '@zotjs/core';
import { ifMatchValue, type ConditionalStyle } from './conditional.js';
import type { KeyLayout } from './keys.js';
import { copySource, type ObjectCopier } from './copier.js';
import { isConditionFailed, isNotFound, mapLimit } from './s3-util.js';
import { emptySha256State, encode, resumeSha256, sha256Of } from './running-hash.js';
import { newSessionState, stateFromMetadata, stateToMetadata, type SessionState } from './session-state.js';

interface LoadedSession {
  state: SessionState;
  etag: string;
  /** The session object's body: bytes not yet in the data object. */
  tail: Buffer;
}

export interface UploadSessionsConfig {
  client: S3Client;
  bucket: string;
  keys: KeyLayout;
  partSize: number;
  copier: ObjectCopier;
  conditional: () => Promise<ConditionalStyle>;
}

/**
 * Upload sessions as S3 objects. Appended bytes collect in a buffer of at most one part; each full part
 * goes to a multipart upload (`data-*`), and what is left over (less than a part) is saved as the body
 * of the session object together with the state, so the next chunk may arrive at any replica.
 * Reading a session back (core re-hashes it when another replica received the earlier chunks)
 * completes the multipart upload first: parts of an unfinished one cannot be read.
 */
export class UploadSessions {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly keys: KeyLayout;
  private readonly partSize: number;
  private readonly copier: ObjectCopier;
  private readonly conditional: () => Promise<ConditionalStyle>;

  constructor(config: UploadSessionsConfig) {
    this.client = config.client;
    this.bucket = config.bucket;
    this.keys = config.keys;
    this.partSize = config.partSize;
    this.copier = config.copier;
    this.conditional = config.conditional;
  }

  async create(repository: string, uploadId: string): Promise<void> {
    const style = await this.conditional();
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.keys.session(repository, uploadId),
        Body: Buffer.alloc(0),
        ContentLength: 0,
        Metadata: stateToMetadata(newSessionState(await emptySha256State())),
        ...(style === 'none' ? {} : { IfNoneMatch: '*' }),
      }),
    );
  }

  async stat(repository: string, uploadId: string): Promise<UploadInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keys.session(repository, uploadId) }));
      const state = stateFromMetadata(out.Metadata, out.ContentLength ?? 0);
      if (!state) return undefined;
      // Every append rewrites the session object, so its modification time is the last append's.
      return { size: state.size, startedAt: new Date(state.startedAt), ...(out.LastModified ? { modifiedAt: out.LastModified } : {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async append(repository: string, uploadId: string, offset: number, data: Readable, signal?: AbortSignal): Promise<number> {
    const session = await this.load(repository, uploadId);
    if (!session) throw uploadUnknown();
    if (session.state.size !== offset) throw new UploadOffsetError(session.state.size, offset);
    if (signal) addAbortSignal(signal, data);

    const state = { ...session.state };
    const obsolete: string[] = [];
    // Every byte received is hashed as it arrives; the state is saved with the new size below.
    const hasher = await resumeSha256(state.sha256);
    let pending: Buffer[] = session.tail.length > 0 ? [session.tail] : [];
    let pendingBytes = session.tail.length;
    let received = 0;
    let failure: unknown;
    try {
      const flushFullParts = async (): Promise<void> => {
        while (pendingBytes >= this.partSize) {
          const all = Buffer.concat(pending, pendingBytes);
          await this.uploadPart(repository, uploadId, state, all.subarray(0, this.partSize), obsolete);
          const rest = all.subarray(this.partSize);
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
        }
      };
      await flushFullParts(); // a tail left at a full part by an earlier failure
      for await (const chunk of data) {
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        hasher?.update(bytes);
        pending.push(bytes);
        pendingBytes += bytes.length;
        received += bytes.length;
        await flushFullParts();
      }
    } catch (err) {
      failure = err;
    }
    if (received === 0 && failure === undefined) return offset;
    // Whatever arrived is kept (a prefix of the chunk, when the stream failed): parts already uploaded
    // plus the pending bytes as the new tail.
    state.size = offset + received;
    state.sha256 = hasher ? encode(hasher) : '';
    try {
      await this.save(repository, uploadId, state, Buffer.concat(pending, pendingBytes), session.etag);
    } catch (err) {
      if (failure !== undefined) throw failure;
      if (isConditionFailed(err)) {
        // Another replica appended to this session at the same time: its state wins.
        const now = await this.stat(repository, uploadId);
        throw now ? new UploadOffsetError(now.size, offset) : uploadUnknown();
      }
      throw err;
    }
    await this.deleteKeys(obsolete).catch(() => undefined);
    if (failure !== undefined) throw failure;
    return state.size;
  }

  /**
   * The sha256 of the session's bytes from the state saved with them, and the size it covers;
   * undefined when the session does not track it.
   */
  async digest(repository: string, uploadId: string): Promise<{ digest: string; size: number } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keys.session(repository, uploadId) }));
      const state = stateFromMetadata(out.Metadata, out.ContentLength ?? 0);
      if (!state) return undefined;
      const digest = await sha256Of(state.sha256);
      return digest ? { digest, size: state.size } : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async read(repository: string, uploadId: string, signal?: AbortSignal): Promise<Readable> {
    let session = await this.load(repository, uploadId);
    if (!session) throw uploadUnknown();
    if (session.state.multipartId) session = await this.seal(repository, uploadId, session);
    const { state, tail } = session;
    const dataKey = state.data ? this.keys.data(repository, uploadId, state.data) : undefined;
    const { client, bucket } = this;
    const stream = Readable.from(
      (async function* () {
        if (dataKey) {
          const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: dataKey }), signal ? { abortSignal: signal } : {});
          yield* out.Body as Readable;
        }
        if (tail.length > 0) yield tail;
      })(),
      { objectMode: false },
    );
    return signal ? addAbortSignal(signal, stream) : stream;
  }

  /**
   * Copies the session's bytes to `target` (a blob key) and ends the session, if it still holds the
   * `size` bytes that were verified. `settled` says whether the copy is still there once any garbage
   * collection racing it is done (else it is copied again).
   */
  async commit(repository: string, uploadId: string, size: number, target: string, settled: () => Promise<boolean>): Promise<void> {
    let session = await this.load(repository, uploadId);
    if (!session) throw uploadUnknown();
    // The copy below reads the data this state names, which later appends never change.
    if (session.state.size !== size) throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload data changed after it was verified');
    if (session.state.multipartId || (session.state.data && session.tail.length > 0)) {
      session = await this.seal(repository, uploadId, session);
    }
    const sessionKey = this.keys.session(repository, uploadId);
    const source = session.state.data ? this.keys.data(repository, uploadId, session.state.data) : sessionKey;
    for (let attempt = 1; ; attempt++) {
      await this.copier.copy(source, target, session.state.size);
      if (await settled()) break;
      if (attempt >= 5) throw new Error(`blob ${target} keeps being deleted while committed`);
    }
    await this.deleteKeys(source === sessionKey ? [sessionKey] : [sessionKey, source]);
  }

  /** Ends a session: its objects and any multipart upload under its folder. */
  async delete(repository: string, uploadId: string): Promise<boolean> {
    const prefix = this.keys.upload(repository, uploadId);
    const [objects, multiparts] = await Promise.all([this.listObjects(prefix), this.listMultiparts(prefix)]);
    await Promise.all(multiparts.map((m) => this.abortMultipart(m.key, m.uploadId)));
    await this.deleteKeys(objects.map((o) => o.key));
    return objects.length > 0 || multiparts.length > 0;
  }

  /**
   * Every session of the repository, including what a crash left behind: multipart uploads and data
   * objects whose session object is gone (size 0, started when they were made), so that garbage
   * collection finds and removes them through {@link delete}.
   */
  async list(repository: string): Promise<UploadEntry[]> {
    const prefix = this.keys.uploads(repository);
    const [objects, multiparts] = await Promise.all([this.listObjects(prefix), this.listMultiparts(prefix)]);
    const sessions = new Set<string>();
    const leftovers = new Map<string, Date>();
    const note = (key: string, when: Date): void => {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) return;
      const id = rest.slice(0, slash);
      if (!isValidUploadId(id)) return;
      if (rest.slice(slash + 1) === 'session') sessions.add(id);
      const seen = leftovers.get(id);
      if (!seen || when < seen) leftovers.set(id, when);
    };
    for (const o of objects) note(o.key, o.modified);
    for (const m of multiparts) note(m.key, m.initiated);
    const stated = await mapLimit([...sessions], 16, async (id) => ({ id, info: await this.stat(repository, id) }));
    const entries: UploadEntry[] = [];
    for (const { id, info } of stated) if (info) entries.push({ uploadId: id, ...info });
    for (const [id, when] of leftovers) {
      if (!sessions.has(id) || !stated.find((s) => s.id === id)?.info) entries.push({ uploadId: id, size: 0, startedAt: when });
    }
    return entries;
  }

  // ---- internals ---------------------------------------------------------------------------

  private async load(repository: string, uploadId: string): Promise<LoadedSession | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keys.session(repository, uploadId) }));
      const tail = Buffer.from(await out.Body!.transformToByteArray());
      const state = stateFromMetadata(out.Metadata, tail.length);
      if (!state) return undefined;
      return { state, etag: out.ETag ?? '', tail };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Replaces the session object (state and tail), only if nobody changed it since `etag`. */
  private async save(repository: string, uploadId: string, state: SessionState, tail: Buffer, etag: string): Promise<string> {
    const style = await this.conditional();
    const ifMatch = etag ? ifMatchValue(style, etag) : undefined;
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.keys.session(repository, uploadId),
        Body: tail,
        ContentLength: tail.length,
        Metadata: stateToMetadata(state),
        ...(ifMatch ? { IfMatch: ifMatch } : {}),
      }),
    );
    return out.ETag ?? '';
  }

  /** Uploads one full part, starting the multipart upload first when there is none. */
  private async uploadPart(repository: string, uploadId: string, state: SessionState, part: Buffer, obsolete: string[]): Promise<void> {
    if (!state.multipartId) await this.startMultipart(repository, uploadId, state, obsolete);
    const partNumber = state.parts + 1;
    await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.keys.data(repository, uploadId, state.data),
        UploadId: state.multipartId,
        PartNumber: partNumber,
        Body: part,
        ContentLength: part.length,
      }),
    );
    state.parts = partNumber;
    state.dataBytes += part.length;
  }

  /**
   * Starts a new multipart upload for the session's data. A completed data object (the session was read
   * back, then appended to) becomes its first parts by server-side copy.
   */
  private async startMultipart(repository: string, uploadId: string, state: SessionState, obsolete: string[]): Promise<void> {
    const name = `data-${randomBytes(6).toString('hex')}`;
    const key = this.keys.data(repository, uploadId, name);
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }));
    const multipartId = created.UploadId!;
    let parts = 0;
    if (state.data) {
      const previous = this.keys.data(repository, uploadId, state.data);
      const ranges = this.copier.ranges(state.dataBytes);
      await mapLimit(ranges, 4, async (range, i) => {
        const partNumber = i + 1;
        await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: multipartId,
            PartNumber: partNumber,
            CopySource: copySource(this.bucket, previous),
            CopySourceRange: `bytes=${range.start}-${range.end}`,
          }),
        );
      });
      parts = ranges.length;
      obsolete.push(previous);
    }
    state.data = name;
    state.multipartId = multipartId;
    state.parts = parts;
  }

  /**
   * Turns the session's data into one complete object: the tail becomes the last part and the
   * multipart upload is completed. The session then holds a completed data object and no tail.
   */
  private async seal(repository: string, uploadId: string, session: LoadedSession): Promise<LoadedSession> {
    const state = { ...session.state };
    const obsolete: string[] = [];
    if (!state.multipartId) await this.startMultipart(repository, uploadId, state, obsolete);
    const key = this.keys.data(repository, uploadId, state.data);
    if (session.tail.length > 0) {
      await this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: state.multipartId,
          PartNumber: state.parts + 1,
          Body: session.tail,
          ContentLength: session.tail.length,
        }),
      );
      state.parts += 1;
      state.dataBytes += session.tail.length;
    }
    const parts = await this.listParts(key, state.multipartId, state.parts);
    const stored = parts.reduce((sum, p) => sum + p.size, 0);
    if (parts.length !== state.parts || stored !== state.dataBytes) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload session data is incomplete in storage', {
        detail: { expected: state.dataBytes, stored },
      });
    }
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: state.multipartId,
        MultipartUpload: { Parts: parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
      }),
    );
    state.multipartId = '';
    state.parts = 0;
    const etag = await this.save(repository, uploadId, state, Buffer.alloc(0), session.etag).catch(async (err: unknown) => {
      if (isConditionFailed(err)) throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload session changed while being completed');
      throw err;
    });
    await this.deleteKeys(obsolete).catch(() => undefined);
    return { state, etag, tail: Buffer.alloc(0) };
  }

  private async listParts(key: string, multipartId: string, count: number): Promise<Array<CompletedPart & { size: number }>> {
    const parts: Array<CompletedPart & { size: number }> = [];
    let marker: string | undefined;
    do {
      const out = await this.client.send(
        new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: multipartId, ...(marker ? { PartNumberMarker: marker } : {}) }),
      );
      for (const p of out.Parts ?? []) {
        // Parts past `count` are leftovers of an append that failed before saving the state.
        if (p.PartNumber !== undefined && p.PartNumber <= count) parts.push({ PartNumber: p.PartNumber, ETag: p.ETag, size: p.Size ?? 0 });
      }
      marker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
    } while (marker);
    return parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
  }

  private async listObjects(prefix: string): Promise<Array<{ key: string; modified: Date }>> {
    const found: Array<{ key: string; modified: Date }> = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const o of out.Contents ?? []) if (o.Key) found.push({ key: o.Key, modified: o.LastModified ?? new Date() });
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /** Multipart uploads under any prefix (for removing leftovers). */
  listMultipartsUnder(prefix: string): Promise<Array<{ key: string; uploadId: string; initiated: Date }>> {
    return this.listMultiparts(prefix);
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
      .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
  }

  private async listMultiparts(prefix: string): Promise<Array<{ key: string; uploadId: string; initiated: Date }>> {
    const found: Array<{ key: string; uploadId: string; initiated: Date }> = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const out = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(idMarker ? { UploadIdMarker: idMarker } : {}),
        }),
      );
      for (const u of out.Uploads ?? []) {
        if (u.Key && u.UploadId) found.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date() });
      }
      keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
      idMarker = out.IsTruncated ? out.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return found;
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
    }
  }
}

function uploadUnknown(): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
}
