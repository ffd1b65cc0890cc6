import type { Logger, RegistryStorage, RepositoryUsage, UsageReporting } from '@zotjs/core';
import type { RequestRecord } from './record.js';
import type { StorageSource } from './storage-source.js';

/**
 * Repository count, stored bytes and open upload sessions of the storage, kept up to date without
 * measuring the storage per scrape: one background pass at startup, then only the repository a
 * successful push or delete touched is measured again (debounced). The storage measures each
 * repository itself (its `usage` capability: the OCI layout from its files, S3 from listings);
 * what two repositories share (hard-linked blobs of mounts and dedupe) is counted once. A storage
 * without that capability has no usage: {@link StorageUsage.supported} is false.
 */

export interface StorageUsageOptions {
  /** The storage to measure, or the promise of one still being opened. */
  storage: StorageSource;
  logger?: Logger;
  /** Wait this long after a change before measuring the repository again (coalesces a push's requests). */
  debounceMs?: number;
  /** Called when a request seen here changed a repository (a multi-process server tells the other workers). */
  onObservedChange?: (repository: string) => void;
}

export interface StorageUsageSnapshot {
  repositories: number;
  /** Bytes of blobs and index files, shared ones once. */
  bytes: number;
  uploadSessions: number;
  /** False until the startup pass has finished (the numbers are partial until then). */
  complete: boolean;
}

// Operations after which a repository's bytes or sessions may have changed (when they succeeded).
const CHANGING_OPERATIONS = new Set(['putManifest', 'deleteManifest', 'deleteBlob', 'startUpload', 'completeUpload', 'cancelUpload']);

export class StorageUsage {
  /** Resolves, once the storage is open, to whether it can report usage (else the numbers stay 0). */
  readonly supported: Promise<boolean>;
  private readonly storage: Promise<RegistryStorage>;
  private readonly reporter: Promise<UsageReporting | undefined>;
  private readonly logger: Logger | undefined;
  private readonly debounceMs: number;
  private readonly onObservedChange: ((repository: string) => void) | undefined;
  private readonly repositories = new Map<string, RepositoryUsage>();
  // Every stored item counted, by the identity the storage gives it, with how many repositories hold it.
  private readonly items = new Map<string, { size: number; refs: number }>();
  private bytes = 0;
  private uploadSessions = 0;
  private complete = false;
  private scanning: Promise<void> | undefined;
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private measuring: Promise<void> | undefined;
  private closed = false;

  constructor(options: StorageUsageOptions) {
    this.storage = Promise.resolve(options.storage);
    // A storage that failed to open has no usage (the extensions' start reports the failure).
    this.reporter = this.storage.then(
      (storage) => storage.capabilities?.usage,
      () => undefined,
    );
    this.supported = this.reporter.then((reporter) => reporter !== undefined);
    this.logger = options.logger;
    this.debounceMs = options.debounceMs ?? 250;
    this.onObservedChange = options.onObservedChange;
  }

  /** Starts the background pass; resolves when it is done (callers need not wait). */
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

  /** Measures every repository marked changed (after the startup pass). Resolves when done. */
  async flushDirty(): Promise<void> {
    if (this.scanning) await this.scanning;
    while (this.measuring) await this.measuring;
    if (this.dirty.size === 0) return;
    const names = [...this.dirty];
    this.dirty.clear();
    const reporter = await this.reporter;
    if (!reporter) return;
    this.measuring = (async () => {
      for (const name of names) {
        try {
          this.setRepository(name, await reporter.repositoryUsage(name));
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
    const reporter = await this.reporter;
    if (!reporter) return;
    const started = Date.now();
    try {
      for (const name of await (await this.storage).listRepositories()) {
        // Measured only if no request changed it meanwhile (a later measurement would be fresher).
        const usage = await reporter.repositoryUsage(name);
        if (usage && !this.repositories.has(name)) this.setRepository(name, usage);
      }
      this.complete = true;
      this.logger?.info(
        { repositories: this.repositories.size, bytes: this.bytes, uploadSessions: this.uploadSessions, durationMs: Date.now() - started },
        'storage usage measured',
      );
    } catch (err) {
      this.logger?.warn({ err }, 'storage usage: startup pass failed; counters are partial');
    }
  }

  private setRepository(name: string, usage: RepositoryUsage | undefined): void {
    const previous = this.repositories.get(name);
    if (previous) {
      this.uploadSessions -= previous.uploadSessions;
      for (const key of previous.stored.keys()) {
        const item = this.items.get(key);
        if (!item) continue;
        if (--item.refs === 0) {
          this.items.delete(key);
          this.bytes -= item.size;
        }
      }
      this.repositories.delete(name);
    }
    if (!usage) return;
    this.repositories.set(name, usage);
    this.uploadSessions += usage.uploadSessions;
    for (const [key, size] of usage.stored) {
      const item = this.items.get(key);
      if (item) item.refs++;
      else {
        this.items.set(key, { size, refs: 1 });
        this.bytes += size;
      }
    }
  }
}
