import { digestOf, tryParseDigest } from '../digest.js';
import { parseManifest, type ManifestInfo } from '../manifest.js';
import type { Descriptor, RegistryStorage } from '../storage.js';
import { BodyTooLargeError, readAll } from '../util/streams.js';

/** What reading a manifest blob for maintenance found. */
export type LoadedManifest =
  | { state: 'ok'; info: ManifestInfo; size: number }
  | { state: 'missing' }
  /** Present but unusable: bytes that do not hash to the digest, or not a manifest core accepts. */
  | { state: 'invalid'; reason: string };

// Manifests larger than this are not manifests (the registry refuses them long before).
const MAX_MANIFEST_READ = 64 * 1024 * 1024;

/**
 * Reads and parses the manifests of one repository for garbage collection and scrub, verifying
 * each one's bytes against its digest (a corrupt manifest must never decide what gets deleted).
 */
export class ManifestLoader {
  private readonly loaded = new Map<string, LoadedManifest>();

  constructor(
    private readonly storage: RegistryStorage,
    private readonly repository: string,
  ) {}

  /** What was loaded so far, by digest. */
  get known(): ReadonlyMap<string, LoadedManifest> {
    return this.loaded;
  }

  async load(descriptor: Pick<Descriptor, 'digest' | 'mediaType'>): Promise<LoadedManifest> {
    const cached = this.loaded.get(descriptor.digest);
    if (cached) return cached;
    const result = await this.read(descriptor);
    this.loaded.set(descriptor.digest, result);
    return result;
  }

  private async read({ digest, mediaType }: Pick<Descriptor, 'digest' | 'mediaType'>): Promise<LoadedManifest> {
    const parsed = tryParseDigest(digest);
    if (!parsed) return { state: 'invalid', reason: `not a valid digest: ${digest.slice(0, 100)}` };
    const stream = await this.storage.readBlob(this.repository, digest);
    if (!stream) return { state: 'missing' };
    let bytes: Buffer;
    try {
      bytes = await readAll(stream, MAX_MANIFEST_READ);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return { state: 'invalid', reason: 'larger than any manifest' };
      throw err;
    }
    const actual = digestOf(parsed.algorithm, bytes).value;
    if (actual !== digest) return { state: 'invalid', reason: `content hashes to ${actual}` };
    try {
      return { state: 'ok', info: parseManifest(bytes, mediaType), size: bytes.length };
    } catch (err) {
      return { state: 'invalid', reason: err instanceof Error ? err.message : String(err) };
    }
  }
}

/** The blobs an image manifest points at that live in this registry (foreign layers carry `urls`). */
export function localBlobs(info: ManifestInfo): Descriptor[] {
  return info.blobs.filter((b) => !(Array.isArray(b.urls) && b.urls.length > 0));
}
