import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@zotjs/core';
import type { RequestRecord } from './record.js';

/**
 * Repository count, stored bytes and open upload sessions of an OCI-layout storage root
 * (`<repo>/index.json`, `<repo>/blobs/<alg>/<hex>`, `<repo>/.uploads/<id>`), kept up to date
 * without walking the disk per scrape: one background walk at startup, then only the repository
 * a successful push or delete touched is measured again (debounced). Hard-linked blobs (mounts,
 * dedupe) are counted once, as they use the disk once.
 */

export interface StorageUsageOptions {
  rootDirectory: string;
  logger?: Logger;
  /** Wait this long after a change before measuring the repository again (coalesces a push's requests). */
  debounceMs?: number;
  /** Called when a request seen here changed a repository (a multi-process server tells the other workers). */
  onObservedChange?: (repository: string) => void;
}

export interface StorageUsageSnapshot {
  repositories: number;
  /** Bytes of blobs and index files, each inode once. */
  bytes: number;
  uploadSessions: number;
  /** False until the startup walk has finished (the numbers are partial until then). */
  complete: boolean;
}

interface RepositoryUsage {
  /** `dev:ino` -> size of each file the repository holds. */
  files: Map<string, number>;
  uploadSessions: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Operations after which a repository's bytes or sessions may have changed (when they succeeded).
const CHANGING_OPERATIONS = new Set(['putManifest', 'deleteManifest', 'deleteBlob', 'startUpload', 'completeUpload', 'cancelUpload']);
const STAT_BATCH = 64;

export class StorageUsage {
  private readonly root: string;
  private readonly logger: Logger | undefined;
  private readonly debounceMs: number;
  private readonly onObservedChange: ((repository: string) => void) | undefined;
  private readonly repositories = new Map<string, RepositoryUsage>();
  private readonly inodes = new Map<string, { size: number; refs: number }>();
  private bytes = 0;
  private uploadSessions = 0;
  private complete = false;
  private scanning: Promise<void> | undefined;
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private measuring: Promise<void> | undefined;
  private closed = false;

  constructor(options: StorageUsageOptions) {
    this.root = options.rootDirectory;
    this.logger = options.logger;
    this.debounceMs = options.debounceMs ?? 250;
    this.onObservedChange = options.onObservedChange;
  }

  /** Starts the background walk; resolves when it is done (callers need not wait). */
  start(): Promise<void> {
    this.scanning ??= this.scan();
    return this.scanning;
  }

  snapshot(): StorageUsageSnapshot {
    return { repositories: this.repositories.size, bytes: this.bytes, uploadSessions: this.uploadSessions, complete: this.complete };
  }

  /** Feeds on finished requests: a successful change to a repository schedules its measurement. */
  observe(record: RequestRecord): void {
    const { outcome } = record;
    if (!outcome.repository || !outcome.operationId || !CHANGING_OPERATIONS.has(outcome.operationId)) return;
    if (record.status >= 300) return;
    this.repositoryChanged(outcome.repository);
    this.onObservedChange?.(outcome.repository);
  }

  repositoryChanged(repository: string): void {
    if (this.closed) return;
    this.dirty.add(repository);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flushDirty();
      }, this.debounceMs);
      this.timer.unref();
    }
  }

  /** Measures every repository marked changed (after the startup walk). Resolves when done. */
  async flushDirty(): Promise<void> {
    if (this.scanning) await this.scanning;
    while (this.measuring) await this.measuring;
    if (this.dirty.size === 0) return;
    const names = [...this.dirty];
    this.dirty.clear();
    this.measuring = (async () => {
      for (const name of names) {
        try {
          this.setRepository(name, await this.measure(name));
        } catch (err) {
          this.logger?.warn({ err, repository: name }, 'storage usage: could not measure repository');
        }
      }
    })();
    try {
      await this.measuring;
    } finally {
      this.measuring = undefined;
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async scan(): Promise<void> {
    const started = Date.now();
    try {
      await this.walk(this.root, '');
      this.complete = true;
      this.logger?.info(
        { repositories: this.repositories.size, bytes: this.bytes, uploadSessions: this.uploadSessions, durationMs: Date.now() - started },
        'storage usage measured',
      );
    } catch (err) {
      this.logger?.warn({ err }, 'storage usage: startup walk failed; counters are partial');
    }
  }

  /** Every folder holding an `index.json` is a repository; names nest (`a/b`) below non-reserved folders. */
  private async walk(dir: string, prefix: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    if (prefix !== '' && entries.some((e) => e.isFile() && e.name === 'index.json')) {
      // Measured only if no request changed it meanwhile (a later measurement would be fresher).
      const usage = await this.measure(prefix);
      if (usage && !this.repositories.has(prefix)) this.setRepository(prefix, usage);
    }
    for (const entry of entries) {
      // Name components start with [a-z0-9]: `.uploads`, `_blobstore` (dedupe) and `blobs` are never repositories.
      if (!entry.isDirectory() || !/^[a-z0-9]/.test(entry.name) || entry.name === 'blobs') continue;
      await this.walk(join(dir, entry.name), prefix === '' ? entry.name : `${prefix}/${entry.name}`);
    }
  }

  /** The repository's files and sessions now; undefined when it does not exist. */
  private async measure(repository: string): Promise<RepositoryUsage | undefined> {
    const dir = join(this.root, repository);
    const files = new Map<string, number>();
    const index = await statFile(join(dir, 'index.json'));
    if (!index) return undefined;
    files.set(index.key, index.size);
    const layout = await statFile(join(dir, 'oci-layout'));
    if (layout) files.set(layout.key, layout.size);
    for (const algorithm of await listDir(join(dir, 'blobs'))) {
      const algDir = join(dir, 'blobs', algorithm);
      const names = await listDir(algDir);
      for (let i = 0; i < names.length; i += STAT_BATCH) {
        const stats = await Promise.all(names.slice(i, i + STAT_BATCH).map((name) => statFile(join(algDir, name))));
        for (const stat of stats) if (stat) files.set(stat.key, stat.size);
      }
    }
    const uploadSessions = (await listDir(join(dir, '.uploads'))).filter((name) => UUID.test(name)).length;
    return { files, uploadSessions };
  }

  private setRepository(name: string, usage: RepositoryUsage | undefined): void {
    const previous = this.repositories.get(name);
    if (previous) {
      this.uploadSessions -= previous.uploadSessions;
      for (const key of previous.files.keys()) {
        const inode = this.inodes.get(key);
        if (!inode) continue;
        if (--inode.refs === 0) {
          this.inodes.delete(key);
          this.bytes -= inode.size;
        }
      }
      this.repositories.delete(name);
    }
    if (!usage) return;
    this.repositories.set(name, usage);
    this.uploadSessions += usage.uploadSessions;
    for (const [key, size] of usage.files) {
      const inode = this.inodes.get(key);
      if (inode) inode.refs++;
      else {
        this.inodes.set(key, { size, refs: 1 });
        this.bytes += size;
      }
    }
  }
}

async function statFile(path: string): Promise<{ key: string; size: number } | undefined> {
  try {
    const stat = await lstat(path, { bigint: true });
    return stat.isFile() ? { key: `${stat.dev}:${stat.ino}`, size: Number(stat.size) } : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
