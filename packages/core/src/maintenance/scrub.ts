/**
 * Scrub over any {@link RegistryStorage} (zot's `scrub` extension): re-hashes every blob of every
 * repository and checks that every manifest in index.json is intact and that everything it
 * references is present with the size its descriptor says. Reports per repository which digests
 * are bad and which tags (images) they affect.
 */
import { createDigester, tryParseDigest } from '../digest.js';
import type { Logger } from '../http/handler.js';
import { REF_NAME_ANNOTATION, type BlobEntry, type Descriptor, type RegistryStorage } from '../storage.js';
import { ManifestLoader, localBlobs } from './manifests.js';

export interface ScrubOptions {
  /** Only these repositories (default: all). */
  repositories?: readonly string[];
  signal?: AbortSignal;
  logger?: Logger;
  /** Called as bytes are hashed (at most every few megabytes) and after each blob. */
  onProgress?: (progress: ScrubProgress) => void;
  /** Called with each repository's report as soon as it is done. */
  onRepository?: (report: RepositoryScrubReport) => void;
}

export interface ScrubProgress {
  repository: string;
  blobsDone: number;
  blobsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export type ScrubProblemKind =
  /** The blob's bytes do not hash to its digest. */
  | 'corrupt'
  /** A manifest references it (or index.json lists it) but the repository does not hold it. */
  | 'missing'
  /** Held, but not with the size the referencing descriptor says. */
  | 'size-mismatch'
  /** A manifest that cannot be parsed. */
  | 'invalid-manifest'
  /** Reading it failed. */
  | 'unreadable';

export interface ScrubProblem {
  digest: string;
  kind: ScrubProblemKind;
  message: string;
  /** Tags whose image includes the digest; untagged manifests are named by digest. */
  affects: string[];
}

export interface RepositoryScrubReport {
  repository: string;
  status: 'ok' | 'affected';
  blobsChecked: number;
  bytesChecked: number;
  problems: ScrubProblem[];
}

export interface ScrubReport {
  ok: boolean;
  repositories: RepositoryScrubReport[];
  blobsChecked: number;
  bytesChecked: number;
  durationMs: number;
}

const PROGRESS_STEP = 8 * 1024 * 1024;

/** One scrub pass. */
export async function scrubStorage(storage: RegistryStorage, options: ScrubOptions = {}): Promise<ScrubReport> {
  const started = Date.now();
  const names = options.repositories ?? (await storage.listRepositories()).sort();
  // List first, so progress can say how much is left.
  const listings = new Map<string, BlobEntry[]>();
  for (const repository of names) listings.set(repository, await storage.listBlobs(repository));
  const all = [...listings.values()].flat();
  const progress: ScrubProgress = {
    repository: '',
    blobsDone: 0,
    blobsTotal: all.length,
    bytesDone: 0,
    bytesTotal: all.reduce((sum, b) => sum + b.size, 0),
  };
  const report: ScrubReport = { ok: true, repositories: [], blobsChecked: 0, bytesChecked: 0, durationMs: 0 };
  for (const repository of names) {
    options.signal?.throwIfAborted();
    progress.repository = repository;
    const result = await scrubRepository(storage, repository, listings.get(repository) ?? [], progress, options);
    if (result.status !== 'ok') {
      report.ok = false;
      options.logger?.error({ repository, problems: result.problems }, 'scrub: repository affected');
    }
    report.repositories.push(result);
    report.blobsChecked += result.blobsChecked;
    report.bytesChecked += result.bytesChecked;
    options.onRepository?.(result);
  }
  report.durationMs = Date.now() - started;
  options.logger?.info(
    { ok: report.ok, repositories: names.length, blobs: report.blobsChecked, bytes: report.bytesChecked, durationMs: report.durationMs },
    'scrub: pass done',
  );
  return report;
}

async function scrubRepository(
  storage: RegistryStorage,
  repository: string,
  blobs: BlobEntry[],
  progress: ScrubProgress,
  options: ScrubOptions,
): Promise<RepositoryScrubReport> {
  const problems = new Map<string, Omit<ScrubProblem, 'affects'>>();
  const note = (digest: string, kind: ScrubProblemKind, message: string): void => {
    if (!problems.has(digest)) problems.set(digest, { digest, kind, message });
  };
  const held = new Map<string, number>();
  let bytesChecked = 0;

  // Every blob hashes to its name.
  for (const blob of blobs) {
    options.signal?.throwIfAborted();
    const result = await hashBlob(storage, repository, blob, (n) => {
      progress.bytesDone += n;
      bytesChecked += n;
      options.onProgress?.({ ...progress });
    });
    progress.blobsDone += 1;
    options.onProgress?.({ ...progress });
    if (result.state === 'gone') continue; // deleted while we were scrubbing (gc, a client)
    held.set(blob.digest, result.size);
    if (result.state === 'unreadable') note(blob.digest, 'unreadable', result.message);
    else if (result.actual !== blob.digest) note(blob.digest, 'corrupt', `content hashes to ${result.actual}`);
  }

  // Every manifest is intact and everything it references is here, with the right size.
  const index = await storage.readIndex(repository);
  const loader = new ManifestLoader(storage, repository);
  const reachedBy = new Map<string, Set<string>>(); // digest -> tags/digests of index entries reaching it
  for (const entry of index?.manifests ?? []) {
    const name = entry.annotations?.[REF_NAME_ANNOTATION] ?? entry.digest;
    const reached = new Set<string>();
    await walk(entry, reached);
    for (const digest of reached) {
      let names = reachedBy.get(digest);
      if (!names) reachedBy.set(digest, (names = new Set()));
      names.add(name);
    }
  }

  async function walk(descriptor: Descriptor, reached: Set<string>): Promise<void> {
    if (reached.has(descriptor.digest)) return;
    reached.add(descriptor.digest);
    await checkPresence(descriptor);
    if (!held.has(descriptor.digest) || problems.has(descriptor.digest)) return;
    const loaded = await loader.load(descriptor);
    if (loaded.state === 'invalid') {
      note(descriptor.digest, 'invalid-manifest', loaded.reason);
      return;
    }
    if (loaded.state !== 'ok') return;
    for (const blob of localBlobs(loaded.info)) {
      reached.add(blob.digest);
      await checkPresence(blob);
    }
    for (const child of loaded.info.children) await walk(child, reached);
  }

  async function checkPresence(descriptor: Descriptor): Promise<void> {
    let size = held.get(descriptor.digest);
    if (size === undefined) {
      // Pushed after the listing (a scrub runs beside pushes): present now means not missing.
      size = await storage.statBlob(repository, descriptor.digest);
      if (size !== undefined) held.set(descriptor.digest, size);
    }
    if (size === undefined) note(descriptor.digest, 'missing', 'referenced but not held by the repository');
    else if (size !== descriptor.size) note(descriptor.digest, 'size-mismatch', `is ${size} bytes, the descriptor says ${descriptor.size}`);
  }

  const list: ScrubProblem[] = [...problems.values()].map((p) => ({ ...p, affects: [...(reachedBy.get(p.digest) ?? [])].sort() }));
  list.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return { repository, status: list.length === 0 ? 'ok' : 'affected', blobsChecked: blobs.length, bytesChecked, problems: list };
}

type HashResult =
  | { state: 'ok'; actual: string; size: number }
  | { state: 'gone' }
  | { state: 'unreadable'; message: string; size: number };

async function hashBlob(storage: RegistryStorage, repository: string, blob: BlobEntry, onBytes: (n: number) => void): Promise<HashResult> {
  const digest = tryParseDigest(blob.digest);
  if (!digest) return { state: 'unreadable', message: 'not a valid digest', size: blob.size };
  let stream;
  try {
    stream = await storage.readBlob(repository, blob.digest);
  } catch (err) {
    return { state: 'unreadable', message: err instanceof Error ? err.message : String(err), size: blob.size };
  }
  if (!stream) return { state: 'gone' };
  const hash = createDigester(digest.algorithm);
  let size = 0;
  let pending = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      hash.update(buf);
      size += buf.length;
      pending += buf.length;
      if (pending >= PROGRESS_STEP) {
        onBytes(pending);
        pending = 0;
      }
    }
  } catch (err) {
    return { state: 'unreadable', message: err instanceof Error ? err.message : String(err), size };
  }
  onBytes(pending);
  return { state: 'ok', actual: `${digest.algorithm}:${hash.digest('hex')}`, size };
}
