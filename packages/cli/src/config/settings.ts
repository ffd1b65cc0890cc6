import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import {
  DIST_SPEC_VERSION,
  HTTP_DEFAULTS,
  LOG_DEFAULTS,
  METRICS_DEFAULTS,
  STORAGE_DEFAULTS,
  type LOG_LEVELS,
  type ZotConfig,
} from '@zotjs/config';
import { resolveMaintenance, type MaintenanceSettings } from './maintenance-settings.js';

/** A validated config with defaults applied and paths made absolute: what the server runs with. */
export interface Settings {
  distSpecVersion: string;
  storage: { rootDirectory: string; dedupe: boolean; gc: boolean; indexCacheMs: number; watch: boolean };
  /** `workers`: serving processes (`http.workers`, 0 resolved to the CPU count). */
  http: { address: string; port: number; realm: string; swagger: boolean; workers: number };
  log: { level: (typeof LOG_LEVELS)[number]; output?: string; audit?: string };
  /** Present when `extensions.metrics` is there and not disabled (as zot). */
  metrics?: { path: string };
  /** Garbage collection, scrub and request limits. */
  maintenance: MaintenanceSettings;
  /** The validated config, for features that read their own section (security, the storage driver). */
  config: ZotConfig;
}

/** Applies the schema's defaults (@zotjs/config's `*_DEFAULTS`) to a validated config. */
export function resolveSettings(config: ZotConfig, cwd = process.cwd()): Settings {
  const { storage, http, log } = config;
  const metrics = config.extensions?.metrics;
  return {
    distSpecVersion: config.distSpecVersion ?? DIST_SPEC_VERSION,
    storage: {
      rootDirectory: resolve(cwd, storage?.rootDirectory ?? STORAGE_DEFAULTS.rootDirectory),
      dedupe: storage?.dedupe ?? STORAGE_DEFAULTS.dedupe,
      gc: storage?.gc ?? STORAGE_DEFAULTS.gc,
      indexCacheMs: storage?.indexCacheMs ?? STORAGE_DEFAULTS.indexCacheMs,
      watch: storage?.watch ?? STORAGE_DEFAULTS.watch,
    },
    http: {
      address: http?.address ?? HTTP_DEFAULTS.address,
      port: Number(http?.port ?? HTTP_DEFAULTS.port),
      realm: http?.realm || HTTP_DEFAULTS.realm,
      swagger: http?.swagger ?? HTTP_DEFAULTS.swagger,
      workers: http?.workers === 0 ? availableParallelism() : (http?.workers ?? HTTP_DEFAULTS.workers),
    },
    log: {
      level: log?.level ?? LOG_DEFAULTS.level,
      ...(log?.output ? { output: resolve(cwd, log.output) } : {}),
      ...(log?.audit ? { audit: resolve(cwd, log.audit) } : {}),
    },
    ...(metrics && (metrics.enable ?? METRICS_DEFAULTS.enable)
      ? { metrics: { path: metrics.prometheus?.path ?? METRICS_DEFAULTS.path } }
      : {}),
    maintenance: resolveMaintenance(config),
    config,
  };
}
