import { createSHA256, type IHasher } from 'hash-wasm';

/**
 * The running sha256 of an upload session, kept in the bucket as a saved hasher state (hash-wasm's
 * `save()`: about 120 bytes), so whichever replica receives the next chunk or the final PUT continues
 * it instead of re-reading the session's data.
 */

let emptyState: Promise<string> | undefined;

/** The saved state of a hasher that has seen no bytes (the state of a new session). */
export function emptySha256State(): Promise<string> {
  emptyState ??= createSHA256().then((hasher) => encode(hasher.init()));
  return emptyState;
}

/** A hasher continuing from `saved`; undefined when the state cannot be loaded (then it is not tracked). */
export async function resumeSha256(saved: string): Promise<IHasher | undefined> {
  if (!saved) return undefined;
  const hasher = await createSHA256();
  try {
    return hasher.load(Buffer.from(saved, 'base64'));
  } catch {
    return undefined;
  }
}

export function encode(hasher: IHasher): string {
  return Buffer.from(hasher.save()).toString('base64');
}

/** `sha256:<hex>` of the bytes `saved` has seen; undefined when it is not a loadable state. */
export async function sha256Of(saved: string): Promise<string | undefined> {
  const hasher = await resumeSha256(saved);
  return hasher ? `sha256:${hasher.digest('hex')}` : undefined;
}
