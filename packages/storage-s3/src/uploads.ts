import { Readable, addAbortSignal } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { RegistryError, UploadOffsetError, isValidUploadId, type UploadDigest, type UploadEntry, type UploadInfo } from '@zotjs/core';
import type { Bucket } from './bucket.js';
import type { ConditionalStyle } from './conditional.js';
import type { ObjectCopier } from './copier.js';
import type { KeyLayout } from './keys.js';
import { encode, resumeSha256, sha256Of } from './running-hash.js';
import { isConditionFailed, mapLimit } from './s3-util.js';
import { SessionData } from './session-data.js';
import { SessionObjects } from './session-object.js';

export interface UploadSessionsConfig {
  bucket: Bucket;
  keys: KeyLayout;
  partSize: number;
  copier: ObjectCopier;
  conditional: () => Promise<ConditionalStyle>;
}

/**
 * Upload sessions as S3 objects. Appended bytes collect in a buffer of at most one part; each full part
 * goes to a multipart upload (`data-*`, see {@link SessionData}), and what is left over (less than a
 * part) is saved as the body of the session object together with the state (see {@link SessionObjects}),
 * so the next chunk may arrive at any replica. Reading a session back (core re-hashes it when another
 * replica received the earlier chunks) completes the multipart upload first: parts of an unfinished one
 * cannot be read.
 */
export class UploadSessions {
  private readonly bucket: Bucket;
  private readonly keys: KeyLayout;
  private readonly partSize: number;
  private readonly copier: ObjectCopier;
  private readonly objects: SessionObjects;
  private readonly data: SessionData;

  constructor(config: UploadSessionsConfig) {
    this.bucket = config.bucket;
    this.keys = config.keys;
    this.partSize = config.partSize;
    this.copier = config.copier;
    this.objects = new SessionObjects(config.bucket, config.keys, config.conditional);
    this.data = new SessionData(config.bucket, config.keys, config.copier, this.objects);
  }

  create(repository: string, uploadId: string): Promise<void> {
    return this.objects.create(repository, uploadId);
  }

  async stat(repository: string, uploadId: string): Promise<UploadInfo | undefined> {
    const found = await this.objects.head(repository, uploadId);
    if (!found) return undefined;
    // Every append rewrites the session object, so its modification time is the last append's.
    return {
      size: found.state.size,
      startedAt: new Date(found.state.startedAt),
      ...(found.modified ? { modifiedAt: found.modified } : {}),
    };
  }

  async append(repository: string, uploadId: string, offset: number, data: Readable, signal?: AbortSignal): Promise<number> {
    const session = await this.objects.load(repository, uploadId);
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
          await this.data.uploadPart(repository, uploadId, state, all.subarray(0, this.partSize), obsolete);
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
      await this.objects.save(repository, uploadId, state, Buffer.concat(pending, pendingBytes), session.etag);
    } catch (err) {
      if (failure !== undefined) throw failure;
      if (isConditionFailed(err)) {
        // Another replica appended to this session at the same time: its state wins.
        const now = await this.stat(repository, uploadId);
        throw now ? new UploadOffsetError(now.size, offset) : uploadUnknown();
      }
      throw err;
    }
    await this.bucket.deleteKeys(obsolete).catch(() => undefined);
    if (failure !== undefined) throw failure;
    return state.size;
  }

  /**
   * The sha256 of the session's bytes from the state saved with them, and the size it covers;
   * undefined when the session does not track it.
   */
  async digest(repository: string, uploadId: string): Promise<UploadDigest | undefined> {
    const found = await this.objects.head(repository, uploadId);
    if (!found) return undefined;
    const digest = await sha256Of(found.state.sha256);
    return digest ? { digest, size: found.state.size } : undefined;
  }

  async read(repository: string, uploadId: string, signal?: AbortSignal): Promise<Readable> {
    let session = await this.objects.load(repository, uploadId);
    if (!session) throw uploadUnknown();
    if (session.state.multipartId) session = await this.data.seal(repository, uploadId, session);
    const { state, tail } = session;
    const dataKey = state.data ? this.keys.data(repository, uploadId, state.data) : undefined;
    const { client, name: bucket } = this.bucket;
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
    let session = await this.objects.load(repository, uploadId);
    if (!session) throw uploadUnknown();
    // The copy below reads the data this state names, which later appends never change.
    if (session.state.size !== size) throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload data changed after it was verified');
    if (session.state.multipartId || (session.state.data && session.tail.length > 0)) {
      session = await this.data.seal(repository, uploadId, session);
    }
    const sessionKey = this.keys.session(repository, uploadId);
    const source = session.state.data ? this.keys.data(repository, uploadId, session.state.data) : sessionKey;
    for (let attempt = 1; ; attempt++) {
      await this.copier.copy(source, target, session.state.size);
      if (await settled()) break;
      if (attempt >= 5) throw new Error(`blob ${target} keeps being deleted while committed`);
    }
    await this.bucket.deleteKeys(source === sessionKey ? [sessionKey] : [sessionKey, source]);
  }

  /** Ends a session: its objects and any multipart upload under its folder. */
  async delete(repository: string, uploadId: string): Promise<boolean> {
    const prefix = this.keys.upload(repository, uploadId);
    const [objects, multiparts] = await Promise.all([this.bucket.list(prefix), this.bucket.listMultiparts(prefix)]);
    await Promise.all(multiparts.map((m) => this.bucket.abortMultipart(m.key, m.uploadId)));
    await this.bucket.deleteKeys(objects.map((o) => o.key));
    return objects.length > 0 || multiparts.length > 0;
  }

  /**
   * Every session of the repository, including what a crash left behind: multipart uploads and data
   * objects whose session object is gone (size 0, started when they were made), so that garbage
   * collection finds and removes them through {@link delete}.
   */
  async list(repository: string): Promise<UploadEntry[]> {
    const prefix = this.keys.uploads(repository);
    const [objects, multiparts] = await Promise.all([this.bucket.list(prefix), this.bucket.listMultiparts(prefix)]);
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
}

function uploadUnknown(): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
}
