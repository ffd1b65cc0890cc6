import { LIMIT_DEFAULTS, parseDuration, RETENTION_DEFAULTS, SCRUB_DEFAULTS, STORAGE_DEFAULTS, type ZotConfig } from '@zotjs/config';
import type { GarbageCollectOptions } from '@zotjs/core';

/** Garbage collection, scrub and limits, resolved with their defaults. */
export interface MaintenanceSettings {
  /** `storage.gc` (default true, as zot): collect in the background every `intervalMs`. */
  gc: boolean;
  /** What one pass does (`zot-cli gc` runs the same). */
  gcOptions: Pick<GarbageCollectOptions, 'delayMs' | 'uploadExpiryMs' | 'retention' | 'dryRun'>;
  gcIntervalMs: number;
  /** Present when `extensions.scrub` is there and not disabled. */
  scrub?: { intervalMs: number };
  /** `storage.verifyBlobReads` (default true). */
  verifyBlobReads: boolean;
  limits: {
    maxManifestBytes: number;
    maxUploadSessionsPerClient: number;
    uploadExpiryMs: number;
    headersMs: number;
    requestMs: number;
    idleMs: number;
  };
}

/** Milliseconds of a duration key: its value, else the schema's default (both Go durations, checked by the schema). */
const ms = (written: string | undefined, fallback: string): number => parseDuration(written ?? fallback) ?? parseDuration(fallback)!;

/** The shortest background interval: a typo such as "1ms" must not turn gc into a busy loop. */
const MIN_INTERVAL_MS = 1000;

export function resolveMaintenance(config: ZotConfig): MaintenanceSettings {
  const storage = config.storage;
  const retention = storage?.retention;
  const limits = config.http?.limits;
  const scrub = config.extensions?.scrub;
  const uploadExpiryMs = ms(limits?.uploadSessionExpiry, LIMIT_DEFAULTS.uploadSessionExpiry);
  return {
    gc: storage?.gc ?? STORAGE_DEFAULTS.gc,
    gcOptions: {
      delayMs: ms(storage?.gcDelay, STORAGE_DEFAULTS.gcDelay),
      uploadExpiryMs,
      retention: {
        delayMs: ms(retention?.delay, RETENTION_DEFAULTS.delay),
        ...(retention?.dryRun ? { dryRun: true } : {}),
        policies: (retention?.policies ?? []).map((p) => ({
          repositories: p.repositories,
          ...(p.deleteReferrers !== undefined ? { deleteReferrers: p.deleteReferrers } : {}),
          ...(p.deleteUntagged !== undefined ? { deleteUntagged: p.deleteUntagged } : {}),
          ...(p.keepTags ? { keepTags: p.keepTags.map((k) => ({ patterns: k.patterns })) } : {}),
        })),
      },
    },
    gcIntervalMs: Math.max(ms(storage?.gcInterval, STORAGE_DEFAULTS.gcInterval), MIN_INTERVAL_MS),
    ...(scrub && (scrub.enable ?? SCRUB_DEFAULTS.enable)
      ? { scrub: { intervalMs: Math.max(ms(scrub.interval, SCRUB_DEFAULTS.interval), MIN_INTERVAL_MS) } }
      : {}),
    verifyBlobReads: storage?.verifyBlobReads ?? STORAGE_DEFAULTS.verifyBlobReads,
    limits: {
      maxManifestBytes: limits?.maxManifestSize ?? LIMIT_DEFAULTS.maxManifestSize,
      maxUploadSessionsPerClient: limits?.maxUploadSessionsPerClient ?? LIMIT_DEFAULTS.maxUploadSessionsPerClient,
      uploadExpiryMs,
      headersMs: ms(limits?.headersTimeout, LIMIT_DEFAULTS.headersTimeout),
      requestMs: ms(limits?.requestTimeout, LIMIT_DEFAULTS.requestTimeout),
      idleMs: ms(limits?.idleTimeout, LIMIT_DEFAULTS.idleTimeout),
    },
  };
}
