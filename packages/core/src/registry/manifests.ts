import { RegistryError } from '../errors.js';
import { digestOf, parseDigest } from '../digest.js';
import { assertRepositoryName, assertTag, isValidTag } from '../names.js';
import { parseManifest, type ManifestInfo } from '../manifest.js';
import type { EventActor, RegistryEvents } from '../events.js';
import { REF_NAME_ANNOTATION, type Descriptor, type RepositoryIndex } from '../repository-index.js';
import type { RegistryStorage } from '../storage.js';
import { LruCache } from '../util/lru.js';
import { readAll } from '../util/streams.js';
import { CorruptContentError } from '../util/verifying-stream.js';
import type { BlobIntegrity } from './blob-integrity.js';
import { corruptContent, manifestTooLarge, manifestUnknown, nameUnknown } from './errors.js';
import { addUntagged, keepChildren, setTag, tagView, untagOne } from './index-edits.js';
import type { ManifestContent, PutManifestResult } from './types.js';

/**
 * Manifests and tags: a manifest is stored byte-for-byte as a blob and listed in the repository's
 * index (tagged or not). Pushing one checks that what it references is here (and keeps it from
 * garbage collection while the push goes on); reading one resolves a tag or digest through the index.
 */
export class Manifests {
  // Manifests are immutable by digest, so their bytes and parsed form cache safely.
  private readonly bytesCache = new LruCache<string, Buffer>(64 * 1024 * 1024, (b) => b.length);
  private readonly infos = new LruCache<string, ManifestInfo>(16384);

  constructor(
    private readonly storage: RegistryStorage,
    private readonly integrity: BlobIntegrity,
    private readonly maxBytes: number,
    private readonly events: RegistryEvents,
  ) {}

  /**
   * Stores a manifest byte-for-byte under `reference` (a tag, or the digest of the bytes).
   * Validates it and checks that the blobs and child manifests it references exist here.
   */
  async put(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    contentType?: string,
    actor?: EventActor,
  ): Promise<PutManifestResult> {
    assertRepositoryName(repository);
    if (bytes.length > this.maxBytes) throw manifestTooLarge(this.maxBytes);
    const byDigest = reference.includes(':') ? parseDigest(reference) : undefined;
    if (!byDigest) assertTag(reference);
    const info = parseManifest(bytes, contentType);
    const digest = digestOf(byDigest?.algorithm ?? 'sha256', bytes).value;
    if (byDigest && byDigest.value !== digest) {
      throw new RegistryError('DIGEST_INVALID', 'manifest digest does not match its content', {
        detail: { expected: byDigest.value, actual: digest },
      });
    }
    await this.assertReferencesExist(repository, info);
    const attempt = { repository, reference, digest, mediaType: info.mediaType, bytes, manifest: info };
    await this.events.checkManifestPush(actor ? { ...attempt, actor } : attempt);

    await this.storage.putBlob(repository, digest, bytes);
    this.integrity.written(repository, digest);
    this.infos.set(digest, info);
    const entry: Descriptor = { mediaType: info.mediaType, digest, size: bytes.length };
    if (info.artifactType) entry.artifactType = info.artifactType;
    // What the index held when the update applied (the callback may run again on a retry: the last run counts).
    let before: RepositoryIndex | undefined;
    await this.storage.updateIndex(repository, (index) => {
      before = index;
      // Children checked above may have been removed from the index since (garbage collection of
      // untagged manifests): their blobs were touched, so they are still there; list them again.
      const withChildren = keepChildren(index, info.children);
      return byDigest
        ? (addUntagged(withChildren, entry) ?? (withChildren !== index ? withChildren : undefined))
        : (setTag(withChildren, reference, entry) ?? (withChildren !== index ? withChildren : undefined));
    });
    this.announcePush(repository, byDigest ? undefined : reference, entry, bytes, info, before, actor);
    return { digest, ...(info.subject ? { subject: info.subject.digest } : {}) };
  }

  /** The manifest's bytes; with `pull`, a client is fetching it (announced as `manifest.pulled`). */
  async get(repository: string, reference: string, pull?: EventActor): Promise<ManifestContent> {
    const entry = await this.resolve(repository, reference);
    const bytes = await this.loadBytes(repository, entry.digest);
    if (!bytes) throw manifestUnknown(reference);
    if (pull && this.events.wants('manifest.pulled')) {
      this.events.emit({ type: 'manifest.pulled', repository, digest: entry.digest, reference, at: new Date(), actor: pull });
    }
    return { digest: entry.digest, mediaType: entry.mediaType, size: bytes.length, bytes };
  }

  async stat(repository: string, reference: string): Promise<Omit<ManifestContent, 'bytes'>> {
    const entry = await this.resolve(repository, reference);
    return { digest: entry.digest, mediaType: entry.mediaType, size: entry.size };
  }

  /** Deletes a tag (the manifest stays, untagged) or, by digest, a manifest and all its tags. */
  async delete(repository: string, reference: string, actor?: EventActor): Promise<void> {
    const entry = await this.resolve(repository, reference);
    const byDigest = reference.includes(':');
    let found = false;
    let removed: Descriptor[] = [];
    await this.storage.updateIndex(repository, (index) => {
      const manifests = byDigest ? index.manifests.filter((m) => m.digest !== entry.digest) : untagOne(index.manifests, reference);
      found = manifests.length !== index.manifests.length || (!byDigest && manifests !== index.manifests);
      removed = byDigest ? index.manifests.filter((m) => m.digest === entry.digest) : [];
      return found ? { ...index, manifests } : undefined;
    });
    if (!found) throw manifestUnknown(reference);
    const at = new Date();
    const by = actor ? { actor } : {};
    if (byDigest) {
      const tags = removed.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).filter((t): t is string => t !== undefined);
      this.events.emit({
        type: 'manifest.deleted',
        repository,
        digest: entry.digest,
        mediaType: entry.mediaType,
        tags,
        cause: 'request',
        at,
        ...by,
      });
    } else {
      this.events.emit({ type: 'tag.deleted', repository, tag: reference, digest: entry.digest, at, ...by });
    }
  }

  private announcePush(
    repository: string,
    tag: string | undefined,
    entry: Descriptor,
    bytes: Uint8Array,
    manifest: ManifestInfo,
    before: RepositoryIndex | undefined,
    actor: EventActor | undefined,
  ): void {
    const at = new Date();
    const by = actor ? { actor } : {};
    if (before === undefined || before.manifests.length === 0) this.events.emit({ type: 'repository.created', repository, at, ...by });
    const previous = tag === undefined ? undefined : before?.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag);
    this.events.emit({
      type: 'manifest.pushed',
      repository,
      digest: entry.digest,
      mediaType: entry.mediaType,
      size: entry.size,
      ...(tag !== undefined ? { tag } : {}),
      ...(previous && previous.digest !== entry.digest ? { previousDigest: previous.digest } : {}),
      bytes,
      manifest,
      at,
      ...by,
    });
  }

  /**
   * The parsed manifest an index entry names; undefined when it is missing, corrupt (the scrub
   * names it) or not a manifest (an entry put there by hand).
   */
  async info(repository: string, entry: Descriptor): Promise<ManifestInfo | undefined> {
    const cached = this.infos.get(entry.digest);
    if (cached) return cached;
    let bytes: Buffer | undefined;
    try {
      bytes = await this.loadBytes(repository, entry.digest);
    } catch (err) {
      if (err instanceof RegistryError) return undefined;
      throw err;
    }
    if (!bytes) return undefined;
    try {
      const info = parseManifest(bytes, entry.mediaType);
      this.infos.set(entry.digest, info);
      return info;
    } catch {
      return undefined;
    }
  }

  private async resolve(repository: string, reference: string): Promise<Descriptor> {
    assertRepositoryName(repository);
    const byDigest = reference.includes(':') ? parseDigest(reference) : undefined;
    // A reference that cannot be a tag names no manifest: 404, as the conformance suite expects
    // (only a push under such a tag is a client error, TAG_INVALID).
    if (!byDigest && !isValidTag(reference)) throw manifestUnknown(reference);
    const index = await this.storage.readIndex(repository);
    if (!index) throw nameUnknown(repository);
    const entry = byDigest ? index.manifests.find((m) => m.digest === byDigest.value) : tagView(index).byTag.get(reference);
    if (!entry) throw manifestUnknown(reference);
    return entry;
  }

  private async loadBytes(repository: string, digest: string): Promise<Buffer | undefined> {
    const cached = this.bytesCache.get(digest);
    // The cache is shared by all repositories: only use it once this repository holds the digest
    // (the caller resolved it through this repository's index).
    if (cached) return cached;
    if (this.integrity.isCorrupt(repository, digest)) throw corruptContent(digest);
    const stream = await this.storage.readBlob(repository, digest);
    if (!stream) return undefined;
    const bytes = await readAll(stream, Math.max(this.maxBytes, 64 * 1024 * 1024));
    const actual = digestOf(parseDigest(digest).algorithm, bytes).value;
    if (actual !== digest) {
      this.integrity.markCorrupt(repository, new CorruptContentError(digest, actual, bytes.length));
      throw corruptContent(digest);
    }
    this.bytesCache.set(digest, bytes);
    return bytes;
  }

  /**
   * Checks that what the manifest references is here, touching it at the same time: from now on
   * garbage collection sees these blobs as new and keeps them while the manifest is written.
   */
  private async assertReferencesExist(repository: string, info: ManifestInfo): Promise<void> {
    // Foreign (non-distributable) layers carry `urls` and live elsewhere.
    const blobs = info.blobs.filter((b) => !(Array.isArray(b.urls) && b.urls.length > 0));
    const digests = [...new Set([...blobs, ...info.children].map((d) => d.digest))];
    const missing = digests.length > 0 ? await this.storage.touchBlobs(repository, digests) : [];
    if (info.children.length > 0) {
      const index = await this.storage.readIndex(repository);
      const held = new Set(index?.manifests.map((m) => m.digest));
      for (const child of info.children) if (!held.has(child.digest)) missing.push(child.digest);
    }
    if (missing.length > 0) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', 'manifest references a manifest or blob unknown to registry', {
        detail: { digests: [...new Set(missing)] },
      });
    }
  }
}
