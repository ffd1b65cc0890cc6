import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DigestAlgorithm } from '../digest.js';
import { REF_NAME_ANNOTATION, type Descriptor, type RegistryStorage, type RepositoryIndex } from '../storage.js';
import type { StorageFactory, StorageFixture, TestFunctions } from './types.js';

/** Creates a storage, runs `work` on it, and always cleans up. */
export async function withStorage(factory: StorageFactory, work: (fixture: StorageFixture) => Promise<void>): Promise<void> {
  const fixture = await factory();
  try {
    await work(fixture);
  } finally {
    await fixture.cleanup?.();
  }
}

/** Registers a test that runs `work` on a fresh storage from `factory` (cleaned up afterwards). */
export function storageTest(
  t: TestFunctions,
  factory: StorageFactory,
): (name: string, work: (storage: RegistryStorage) => Promise<void>) => unknown {
  return (name, work) => t.it(name, () => withStorage(factory, ({ storage }) => work(storage)));
}

/** Random bytes (incompressible, so a backend cannot get lucky with patterns). */
export function bytes(length: number): Buffer {
  return randomBytes(length);
}

export function digestOfBytes(data: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** A stream of `data` cut into `chunkSize` pieces (many small writes, as from a slow client). */
export function streamOf(data: Buffer, chunkSize = 16 * 1024): Readable {
  const pieces: Buffer[] = [];
  for (let start = 0; start < data.length; start += chunkSize) pieces.push(data.subarray(start, start + chunkSize));
  return Readable.from(pieces);
}

/** A stream that delivers `data` and then fails, like a client that disconnects mid-upload. */
export function failingStream(data: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield data;
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('client went away (contract test)');
    })(),
  );
}

/** A stream that sends nothing until `open()`, then `data`: a client still sending its chunk. */
export function gatedStream(data: Buffer): { stream: Readable; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const stream = Readable.from(
    (async function* () {
      await opened;
      yield* streamOf(data);
    })(),
  );
  return { stream, open };
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads a stream to the end. */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

export function uploadId(): string {
  return randomUUID();
}

/** An index entry for a manifest, tagged when `tag` is given. */
export function entry(digest: string, tag?: string, extra: Partial<Descriptor> = {}): Descriptor {
  return {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest,
    size: 512,
    ...extra,
    ...(tag === undefined ? {} : { annotations: { ...(extra.annotations ?? {}), [REF_NAME_ANNOTATION]: tag } }),
  };
}

/** A pure index edit adding one entry. */
export function adding(item: Descriptor): (index: RepositoryIndex) => RepositoryIndex {
  return (index) => ({ ...index, manifests: [...index.manifests, item] });
}

export function tagsOf(index: RepositoryIndex | undefined): string[] {
  return (index?.manifests ?? [])
    .map((m) => m.annotations?.[REF_NAME_ANNOTATION])
    .filter((t): t is string => t !== undefined)
    .sort();
}

export function sorted(values: readonly string[]): string[] {
  return [...values].sort();
}

export async function eventually(check: () => boolean, timeoutMs = 2000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
