import type { GarbageCollectOptions } from '@zotjs/core';
import { GC_DEFAULTS, LIMIT_DEFAULTS } from './maintenance-schema.js';
import type { ZotConfig } from './schema.js';
import { parseDuration } from './schema-kit.js';

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

const ms = (text: string | undefined, fallback: number): number => (text === undefined ? fallback : (parseDuration(text) ?? fallback));

export function resolveMaintenance(config: ZotConfig): MaintenanceSettings {
  const storage = config.storage;
  const retention = storage?.retention;
  const limits = config.http?.limits;
  const scrub = config.extensions?.scrub;
  const uploadExpiryMs = ms(limits?.uploadSessionExpiry, LIMIT_DEFAULTS.uploadExpiryMs);
  return {
    gc: storage?.gc ?? true,
    gcOptions: {
      delayMs: ms(storage?.gcDelay, GC_DEFAULTS.delayMs),
      uploadExpiryMs,
      retention: {
        delayMs: ms(retention?.delay, GC_DEFAULTS.retentionDelayMs),
        ...(retention?.dryRun ? { dryRun: true } : {}),
        policies: (retention?.policies ?? []).map((p) => ({
          repositories: p.repositories ?? [],
          ...(p.deleteReferrers !== undefined ? { deleteReferrers: p.deleteReferrers } : {}),
          ...(p.deleteUntagged !== undefined ? { deleteUntagged: p.deleteUntagged } : {}),
          ...(p.keepTags ? { keepTags: p.keepTags.map((k) => ({ patterns: k.patterns ?? [] })) } : {}),
        })),
      },
    },
    gcIntervalMs: Math.max(ms(storage?.gcInterval, GC_DEFAULTS.intervalMs), 1000),
    ...(scrub && scrub.enable !== false ? { scrub: { intervalMs: Math.max(ms(scrub.interval, GC_DEFAULTS.scrubIntervalMs), 1000) } } : {}),
    verifyBlobReads: storage?.verifyBlobReads ?? true,
    limits: {
      maxManifestBytes: limits?.maxManifestSize ?? LIMIT_DEFAULTS.maxManifestBytes,
      maxUploadSessionsPerClient: limits?.maxUploadSessionsPerClient ?? LIMIT_DEFAULTS.maxUploadSessionsPerClient,
      uploadExpiryMs,
      headersMs: ms(limits?.headersTimeout, LIMIT_DEFAULTS.headersMs),
      requestMs: ms(limits?.requestTimeout, LIMIT_DEFAULTS.requestMs),
      idleMs: ms(limits?.idleTimeout, LIMIT_DEFAULTS.idleMs),
    },
  };
}
