/**
 * Garbage collection over any {@link RegistryStorage}, as zot does it (pkg/storage/gc):
 *
 * 1. Retention edits index.json: tags no `keepTags` pattern keeps, untagged manifests that no
 *    image index references (`deleteUntagged`, default on) and referrers whose subject is gone
 *    (`deleteReferrers`, default off, as zot) are removed once their manifest is older than the
 *    retention delay.
 * 2. Blobs that no manifest in index.json reaches (config, layers, children, subjects, the
 *    manifests' own bytes) are removed once older than `delayMs` (zot's gcDelay).
 * 3. Upload sessions idle for longer than `uploadExpiryMs` are removed, and the storage's own
 *    leftovers of interrupted writes.
 *
 * Safety against concurrent pushes: a manifest push touches every blob it references before it
 * checks them ({@link RegistryStorage.touchBlobs}) and blobs are deleted only with
 * `unmodifiedSince` (atomic with that touch), so a blob uploaded just before its manifest, or
 * referenced by a manifest being written right now, is never removed. Index edits are re-checked
 * inside the atomic index update against the index as it is then, so a tag or a reference added
 * meanwhile wins.
 *
 * Referrers whose subject was deleted (zot's behaviour): kept by default, with their blobs, and
 * still listed by the referrers API for that digest; with `deleteReferrers` they are removed once
 * older than the retention delay, and then their own referrers in turn.
 */
import type { Logger } from '../http/handler.js';
import type { RegistryEvents } from '../events.js';
import { manifestKind } from '../media-types.js';
import { REF_NAME_ANNOTATION, type Descriptor, type RegistryStorage, type RepositoryIndex } from '../storage.js';
import { matchesGlob } from '../glob.js';
import { ManifestLoader, localBlobs, type LoadedManifest } from './manifests.js';

export interface GarbageCollectOptions {
  /** Unreferenced blobs and leftovers younger than this are kept (ms; default 1 hour, zot's gcDelay). */
  delayMs?: number;
  /** Upload sessions idle for longer than this are removed (ms; default 1 hour). */
  uploadExpiryMs?: number;
  retention?: RetentionOptions;
  /** Report what would be removed without removing anything. */
  dryRun?: boolean;
  /** Only these repositories (default: all). */
  repositories?: readonly string[];
  signal?: AbortSignal;
  logger?: Logger;
  /** Called with each repository's report as soon as it is done. */
  onRepository?: (report: RepositoryGcReport) => void;
  /** Where removals of manifests and tags are announced (`manifest.deleted`, `tag.deleted`); usually `registry.events`. */
  events?: RegistryEvents;
  /** The clock (tests). */
  now?: () => number;
}

export interface RetentionOptions {
  /** Untagged manifests and orphaned referrers must be older than this to go (ms; default 24 hours, as zot). */
  delayMs?: number;
  /** Report what retention would remove, remove no manifest or tag (blobs are still collected, as zot). */
  dryRun?: boolean;
  /** Per-repository policies; the first whose `repositories` glob matches applies. */
  policies?: readonly RetentionPolicy[];
}

export interface RetentionPolicy {
  /** Repository globs, zot's syntax (`**`, `team/*`, `{a,b}`; see `matchesGlob`). */
  repositories: readonly string[];
  /** Remove referrers whose subject is gone (default false). */
  deleteReferrers?: boolean;
  /** Remove untagged manifests that no index references (default true). */
  deleteUntagged?: boolean;
  /** When present, tags matching none of these regular expressions are removed. */
  keepTags?: readonly { patterns: readonly string[] }[];
}

export interface RemovedBlob {
  digest: string;
  size: number;
}

export interface RemovedManifest {
  digest: string;
  /** `tag` (retention removed a tag), `untagged`, or `orphaned-referrer`. */
  reason: 'tag' | 'untagged' | 'orphaned-referrer';
  tag?: string;
}

export interface RepositoryGcReport {
  repository: string;
  manifests: RemovedManifest[];
  blobs: RemovedBlob[];
  uploads: string[];
  /** Why part of the work was skipped (for example a manifest that cannot be read). */
  problems: string[];
}

export interface GcReport {
  dryRun: boolean;
  /** Retention only reported its manifests and tags (`retention.dryRun`). */
  retentionDryRun: boolean;
  repositories: RepositoryGcReport[];
  totals: { manifests: number; blobs: number; bytes: number; uploads: number; leftovers: number };
  durationMs: number;
}

const HOUR = 60 * 60 * 1000;

/** One garbage-collection pass over the storage. */
export async function collectGarbage(storage: RegistryStorage, options: GarbageCollectOptions = {}): Promise<GcReport> {
  const started = Date.now();
  const now = options.now ?? Date.now;
  const dryRun = options.dryRun ?? false;
  const names = options.repositories ?? (await storage.listRepositories()).sort();
  const report: GcReport = {
    dryRun,
    retentionDryRun: dryRun || (options.retention?.dryRun ?? false),
    repositories: [],
    totals: { manifests: 0, blobs: 0, bytes: 0, uploads: 0, leftovers: 0 },
    durationMs: 0,
  };
  for (const repository of names) {
    options.signal?.throwIfAborted();
    let result: RepositoryGcReport;
    try {
      result = await collectRepository(storage, repository, options, now);
    } catch (err) {
      options.logger?.error({ err, repository }, 'gc: repository failed');
      result = {
        repository,
        manifests: [],
        blobs: [],
        uploads: [],
        problems: [`failed: ${err instanceof Error ? err.message : String(err)}`],
      };
    }
    report.repositories.push(result);
    report.totals.manifests += result.manifests.length;
    report.totals.blobs += result.blobs.length;
    report.totals.bytes += result.blobs.reduce((sum, b) => sum + b.size, 0);
    report.totals.uploads += result.uploads.length;
    options.onRepository?.(result);
  }
  const leftovers = storage.capabilities?.leftovers;
  if (!dryRun && !options.repositories && leftovers) {
    report.totals.leftovers = await leftovers.removeLeftovers(new Date(now() - (options.delayMs ?? HOUR)));
  }
  report.durationMs = Date.now() - started;
  options.logger?.info({ ...report.totals, dryRun, durationMs: report.durationMs }, 'gc: pass done');
  return report;
}

async function collectRepository(
  storage: RegistryStorage,
  repository: string,
  options: GarbageCollectOptions,
  now: () => number,
): Promise<RepositoryGcReport> {
  const report: RepositoryGcReport = { repository, manifests: [], blobs: [], uploads: [], problems: [] };
  const index = await storage.readIndex(repository);
  if (!index) return report;
  const loader = new ManifestLoader(storage, repository);
  const dryRun = options.dryRun ?? false;

  // 1. Retention: which index entries go.
  const blobTimes = new Map((await storage.listBlobs(repository)).map((b) => [b.digest, b.modifiedAt.getTime()]));
  const retentionCutoff = now() - (options.retention?.delayMs ?? 24 * HOUR);
  const isOld = (digest: string): boolean => (blobTimes.get(digest) ?? Number.POSITIVE_INFINITY) <= retentionCutoff;
  const policy = policyFor(repository, options.retention?.policies ?? []);
  for (const entry of index.manifests) await loader.load(entry);
  await loadChildren(loader, index.manifests);
  const plan = planRetention(index, loader.known, policy, isOld);
  let current: RepositoryIndex = index;
  if (plan.length > 0) {
    if (dryRun || options.retention?.dryRun) {
      report.manifests.push(...plan);
    } else {
      let applied: RemovedManifest[] = [];
      current = await storage.updateIndex(repository, (latest) => {
        const result = applyRetention(latest, plan, loader.known);
        applied = result.applied;
        return result.applied.length > 0 ? result.index : undefined;
      });
      report.manifests.push(...applied);
      if (options.events) announceRemovals(options.events, repository, index, current, applied);
    }
    for (const removed of report.manifests) {
      const dry = dryRun || (options.retention?.dryRun ?? false);
      options.logger?.info(
        { repository, digest: removed.digest, reason: removed.reason, tag: removed.tag, dryRun: dry },
        dry ? 'gc: would remove manifest' : 'gc: removed manifest',
      );
    }
  }

  // 2. Blobs nothing reaches any more.
  const liveIndex = dryRun ? simulate(index, report.manifests) : current;
  const reach = await reachable(loader, liveIndex.manifests);
  if (reach.problems.length > 0) {
    report.problems.push(...reach.problems, 'blobs were not collected: some manifests cannot be read (run scrub)');
    options.logger?.warn({ repository, problems: reach.problems }, 'gc: skipping blob collection');
  } else {
    const cutoff = new Date(now() - (options.delayMs ?? HOUR));
    for (const blob of await storage.listBlobs(repository)) {
      options.signal?.throwIfAborted();
      if (reach.digests.has(blob.digest) || blob.modifiedAt.getTime() > cutoff.getTime()) continue;
      const removed = dryRun || (await storage.deleteBlob(repository, blob.digest, { unmodifiedSince: cutoff }));
      if (removed) {
        report.blobs.push({ digest: blob.digest, size: blob.size });
        options.logger?.debug({ repository, digest: blob.digest, size: blob.size, dryRun }, 'gc: removed blob');
      }
    }
  }

  // 3. Abandoned upload sessions.
  const uploadCutoff = now() - (options.uploadExpiryMs ?? HOUR);
  for (const upload of await storage.listUploads(repository)) {
    if ((upload.modifiedAt ?? upload.startedAt).getTime() > uploadCutoff) continue;
    if (dryRun || (await storage.deleteUpload(repository, upload.uploadId))) report.uploads.push(upload.uploadId);
  }
  return report;
}

function policyFor(
  repository: string,
  policies: readonly RetentionPolicy[],
): Required<Omit<RetentionPolicy, 'keepTags'>> & Pick<RetentionPolicy, 'keepTags'> {
  const policy = policies.find((p) => p.repositories.some((glob) => matchesGlob(glob, repository)));
  return {
    repositories: policy?.repositories ?? [],
    deleteReferrers: policy?.deleteReferrers ?? false,
    deleteUntagged: policy?.deleteUntagged ?? true,
    ...(policy?.keepTags ? { keepTags: policy.keepTags } : {}),
  };
}

/** Loads the children of every image index, transitively (they decide what is referenced). */
async function loadChildren(loader: ManifestLoader, entries: readonly Descriptor[]): Promise<void> {
  const queue = [...entries];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const entry = queue.pop()!;
    if (seen.has(entry.digest)) continue;
    seen.add(entry.digest);
    const loaded = await loader.load(entry);
    if (loaded.state === 'ok') queue.push(...loaded.info.children);
  }
}

function tagOf(entry: Descriptor): string | undefined {
  return entry.annotations?.[REF_NAME_ANNOTATION];
}

/** Digests that image indexes among `entries` reference (transitively, through known manifests). */
function childDigests(entries: readonly Descriptor[], known: ReadonlyMap<string, LoadedManifest>): Set<string> {
  const referenced = new Set<string>();
  const visit = (digest: string): void => {
    const loaded = known.get(digest);
    if (loaded?.state !== 'ok') return;
    for (const child of loaded.info.children) {
      if (referenced.has(child.digest)) continue;
      referenced.add(child.digest);
      visit(child.digest);
    }
  };
  for (const entry of entries) visit(entry.digest);
  return referenced;
}

/**
 * Decides, on a snapshot of the index, what retention removes, in an order where each removal
 * may enable the next (an untagged subject, then its referrers).
 */
function planRetention(
  index: RepositoryIndex,
  known: ReadonlyMap<string, LoadedManifest>,
  policy: ReturnType<typeof policyFor>,
  isOld: (digest: string) => boolean,
): RemovedManifest[] {
  const plan: RemovedManifest[] = [];
  let entries = [...index.manifests];
  if (policy.keepTags) {
    const patterns = policy.keepTags.flatMap((k) => k.patterns).map((p) => new RegExp(p));
    for (const entry of index.manifests) {
      const tag = tagOf(entry);
      if (tag === undefined || patterns.some((p) => p.test(tag))) continue;
      plan.push({ digest: entry.digest, reason: 'tag', tag });
      entries = entries.filter((e) => e !== entry);
    }
  }
  for (let changed = true; changed; ) {
    changed = false;
    const present = new Set(entries.map((e) => e.digest));
    const tagged = new Set(entries.filter((e) => tagOf(e) !== undefined).map((e) => e.digest));
    const referenced = childDigests(entries, known);
    for (const digest of present) {
      const loaded = known.get(digest);
      if (loaded?.state !== 'ok' || !isOld(digest)) continue; // unreadable manifests are kept
      const subject = loaded.info.subject?.digest;
      let reason: RemovedManifest['reason'] | undefined;
      if (subject !== undefined) {
        if (policy.deleteReferrers && !present.has(subject)) reason = 'orphaned-referrer';
      } else if (policy.deleteUntagged && !tagged.has(digest) && !referenced.has(digest)) {
        reason = 'untagged';
      }
      if (!reason) continue;
      plan.push({ digest, reason });
      entries = entries.filter((e) => e.digest !== digest);
      changed = true;
    }
  }
  return plan;
}

/**
 * Applies the plan to the index as it is now (inside the atomic update), skipping whatever
 * changed meanwhile: a tag moved, a manifest tagged again, a new index referencing it, a subject
 * pushed. Pure, so the storage may run it again.
 */
function applyRetention(
  latest: RepositoryIndex,
  plan: readonly RemovedManifest[],
  known: ReadonlyMap<string, LoadedManifest>,
): { index: RepositoryIndex; applied: RemovedManifest[] } {
  let entries = [...latest.manifests];
  const applied: RemovedManifest[] = [];
  // A manifest we have not read may be an index referencing anything: then remove no untagged one.
  const unknownParents = entries.some((e) => !known.has(e.digest) && manifestKind(e.mediaType) !== 'image');
  for (const item of plan) {
    if (item.reason === 'tag') {
      const before = entries.length;
      entries = entries.filter((e) => !(tagOf(e) === item.tag && e.digest === item.digest));
      if (entries.length !== before) applied.push(item);
      continue;
    }
    const mine = entries.filter((e) => e.digest === item.digest);
    if (mine.length === 0) continue;
    if (item.reason === 'untagged') {
      if (unknownParents || mine.some((e) => tagOf(e) !== undefined)) continue;
      if (childDigests(entries, known).has(item.digest)) continue;
    } else {
      const loaded = known.get(item.digest);
      const subject = loaded?.state === 'ok' ? loaded.info.subject?.digest : undefined;
      if (subject === undefined || entries.some((e) => e.digest === subject)) continue;
    }
    entries = entries.filter((e) => e.digest !== item.digest);
    applied.push(item);
  }
  // Never leave an index pointing at a child that is no longer listed.
  const listed = new Set(entries.map((e) => e.digest));
  for (const entry of latest.manifests) {
    if (!listed.has(entry.digest) && childDigests(entries, known).has(entry.digest)) {
      const { annotations: _dropped, ...untagged } = entry;
      entries.push(untagged);
      listed.add(entry.digest);
    }
  }
  return { index: { ...latest, manifests: entries }, applied };
}

/** The index a dry run would leave. */
function simulate(index: RepositoryIndex, removed: readonly RemovedManifest[]): RepositoryIndex {
  let entries = [...index.manifests];
  for (const item of removed) {
    entries =
      item.reason === 'tag'
        ? entries.filter((e) => !(tagOf(e) === item.tag && e.digest === item.digest))
        : entries.filter((e) => e.digest !== item.digest);
  }
  return { ...index, manifests: entries };
}

/**
 * Every digest the index reaches: manifests, their config and layers, children, subjects (zot
 * keeps a subject's blob too). `problems` lists manifests that exist but cannot be read: then
 * their references are unknown and nothing may be collected.
 */
async function reachable(loader: ManifestLoader, entries: readonly Descriptor[]): Promise<{ digests: Set<string>; problems: string[] }> {
  const digests = new Set<string>();
  const problems: string[] = [];
  const queue: Descriptor[] = [...entries];
  while (queue.length > 0) {
    const entry = queue.pop()!;
    if (digests.has(entry.digest)) continue;
    digests.add(entry.digest);
    const loaded = await loader.load(entry);
    if (loaded.state === 'invalid') problems.push(`manifest ${entry.digest}: ${loaded.reason}`);
    if (loaded.state !== 'ok') continue; // a missing manifest references nothing (zot skips it too)
    for (const blob of localBlobs(loaded.info)) digests.add(blob.digest);
    if (loaded.info.subject) digests.add(loaded.info.subject.digest);
    queue.push(...loaded.info.children);
  }
  return { digests, problems };
}

/** Announces what retention removed: tags that went, and manifests no longer listed at all. */
function announceRemovals(
  events: RegistryEvents,
  repository: string,
  before: RepositoryIndex,
  after: RepositoryIndex,
  applied: readonly RemovedManifest[],
): void {
  const at = new Date();
  const listed = new Set(after.manifests.map((e) => e.digest));
  const announced = new Set<string>();
  for (const item of applied) {
    if (item.reason === 'tag' && item.tag !== undefined)
      events.emit({ type: 'tag.deleted', repository, tag: item.tag, digest: item.digest, at });
    if (listed.has(item.digest) || announced.has(item.digest)) continue;
    announced.add(item.digest);
    const entries = before.manifests.filter((e) => e.digest === item.digest);
    const tags = entries.map(tagOf).filter((t): t is string => t !== undefined);
    const mediaType = entries[0]?.mediaType ?? '';
    events.emit({
      type: 'manifest.deleted',
      repository,
      digest: item.digest,
      mediaType,
      tags,
      cause: item.reason === 'tag' ? 'retention' : 'gc',
      at,
    });
  }
}
