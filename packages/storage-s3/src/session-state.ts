/**
 * The state of an upload session, kept in the bucket (user metadata of the session object, whose body is
 * the bytes not yet in a part), so that any replica can continue a session another one started.
 *
 * The session's bytes, in order: `dataBytes` in the data object `data` (a multipart upload of `parts`
 * parts when `multipartId` is set, else a completed object), then the session object's body (the tail,
 * shorter than one part).
 */
export interface SessionState {
  startedAt: number;
  /** Bytes received so far (data + tail). */
  size: number;
  /** Name of the data object inside the session folder (`data-<hex>`), '' when all bytes are in the tail. */
  data: string;
  /** The S3 multipart upload id while `data` is being uploaded in parts; '' once it is a complete object. */
  multipartId: string;
  /** Parts of the multipart upload that hold session data (higher part numbers are leftovers of a crash). */
  parts: number;
  dataBytes: number;
  /**
   * The running sha256 over all `size` bytes: hash-wasm's saved hasher state, base64. Saved with the
   * size in one conditional write, so it always covers exactly the session's bytes. '' when not
   * tracked (a session written by a version that did not track it): core then re-reads the data.
   */
  sha256: string;
  /**
   * Set by a commit before it copies the data: from then on appends are refused, and an append that
   * loaded the session before finds its conditional save failing, so no acknowledged byte is dropped.
   */
  committing: boolean;
}

const PREFIX = 'zot-';

export function newSessionState(sha256: string, now = Date.now()): SessionState {
  return { startedAt: now, size: 0, data: '', multipartId: '', parts: 0, dataBytes: 0, sha256, committing: false };
}

/** The state as S3 user metadata (short ASCII values, the hash state about 160 characters: well under the 2 KB limit). */
export function stateToMetadata(state: SessionState): Record<string, string> {
  return {
    [`${PREFIX}started`]: String(state.startedAt),
    [`${PREFIX}size`]: String(state.size),
    [`${PREFIX}data`]: state.data,
    [`${PREFIX}multipart`]: state.multipartId,
    [`${PREFIX}parts`]: String(state.parts),
    [`${PREFIX}databytes`]: String(state.dataBytes),
    [`${PREFIX}sha256`]: state.sha256,
    ...(state.committing ? { [`${PREFIX}committing`]: '1' } : {}),
  };
}

/** Reads the state back; undefined when the object is not a session of ours (or was damaged). */
export function stateFromMetadata(metadata: Record<string, string> | undefined, tailBytes: number): SessionState | undefined {
  if (!metadata) return undefined;
  const num = (name: string): number => {
    const value = metadata[`${PREFIX}${name}`];
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : NaN;
  };
  const state: SessionState = {
    startedAt: num('started'),
    size: num('size'),
    data: metadata[`${PREFIX}data`] ?? '',
    multipartId: metadata[`${PREFIX}multipart`] ?? '',
    parts: num('parts'),
    dataBytes: num('databytes'),
    sha256: metadata[`${PREFIX}sha256`] ?? '',
    committing: metadata[`${PREFIX}committing`] === '1',
  };
  const numbers = [state.startedAt, state.size, state.parts, state.dataBytes];
  if (numbers.some((n) => !Number.isSafeInteger(n))) return undefined;
  if (state.size !== state.dataBytes + tailBytes) return undefined;
  if (state.data !== '' && !/^data-[0-9a-f]+$/.test(state.data)) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(state.sha256)) state.sha256 = '';
  return state;
}
