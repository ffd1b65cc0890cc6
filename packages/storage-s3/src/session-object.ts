import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Bucket } from './bucket.js';
import { ifMatchValue, type ConditionalStyle } from './conditional.js';
import type { KeyLayout } from './keys.js';
import { emptySha256State } from './running-hash.js';
import { isNotFound } from './s3-util.js';
import { newSessionState, stateFromMetadata, stateToMetadata, type SessionState } from './session-state.js';

/** A session as last saved: its state, the ETag that guards the next save, and its tail bytes. */
export interface LoadedSession {
  state: SessionState;
  etag: string;
  /** The session object's body: bytes not yet in the data object. */
  tail: Buffer;
}

/**
 * The session object `.uploads/<id>/session`: the session's state in its user metadata, and the
 * bytes not yet in a part as its body. Every save is conditional on the ETag it was loaded with,
 * so of two replicas appending to one session at once, one loses (see session-state.ts).
 */
export class SessionObjects {
  constructor(
    private readonly bucket: Bucket,
    private readonly keys: KeyLayout,
    private readonly conditional: () => Promise<ConditionalStyle>,
  ) {}

  /** Creates an empty session; fails if one with this id exists (where the store honours `If-None-Match`). */
  async create(repository: string, uploadId: string): Promise<void> {
    const style = await this.conditional();
    await this.bucket.client.send(
      new PutObjectCommand({
        Bucket: this.bucket.name,
        Key: this.keys.session(repository, uploadId),
        Body: Buffer.alloc(0),
        ContentLength: 0,
        Metadata: stateToMetadata(newSessionState(await emptySha256State())),
        ...(style === 'none' ? {} : { IfNoneMatch: '*' }),
      }),
    );
  }

  /** The state without the tail (one HEAD), and when it was last saved; undefined when there is no session. */
  async head(repository: string, uploadId: string): Promise<{ state: SessionState; modified: Date | undefined } | undefined> {
    try {
      const out = await this.bucket.client.send(
        new HeadObjectCommand({ Bucket: this.bucket.name, Key: this.keys.session(repository, uploadId) }),
      );
      const state = stateFromMetadata(out.Metadata, out.ContentLength ?? 0);
      return state ? { state, modified: out.LastModified } : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async load(repository: string, uploadId: string): Promise<LoadedSession | undefined> {
    try {
      const out = await this.bucket.client.send(
        new GetObjectCommand({ Bucket: this.bucket.name, Key: this.keys.session(repository, uploadId) }),
      );
      const tail = Buffer.from(await out.Body!.transformToByteArray());
      const state = stateFromMetadata(out.Metadata, tail.length);
      if (!state) return undefined;
      return { state, etag: out.ETag ?? '', tail };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Replaces the session object (state and tail), only if nobody changed it since `etag`. Resolves to the new ETag. */
  async save(repository: string, uploadId: string, state: SessionState, tail: Buffer, etag: string): Promise<string> {
    const style = await this.conditional();
    const ifMatch = etag ? ifMatchValue(style, etag) : undefined;
    const out = await this.bucket.client.send(
      new PutObjectCommand({
        Bucket: this.bucket.name,
        Key: this.keys.session(repository, uploadId),
        Body: tail,
        ContentLength: tail.length,
        Metadata: stateToMetadata(state),
        ...(ifMatch ? { IfMatch: ifMatch } : {}),
      }),
    );
    return out.ETag ?? '';
  }
}
