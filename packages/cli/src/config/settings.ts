import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { LOG_LEVELS, type ZotConfig } from './schema.js';
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
  /** The config as written, for features that read their own keys. */
  config: ZotConfig;
}

export function resolveSettings(config: ZotConfig, cwd = process.cwd()): Settings {
  const output = config.log?.output;
  const audit = config.log?.audit;
  const metrics = config.extensions?.metrics;
  return {
    distSpecVersion: config.distSpecVersion ?? '1.1.0',
    storage: {
      rootDirectory: resolve(cwd, config.storage?.rootDirectory ?? './zot-data'),
      // zot's defaults: both on.
      dedupe: config.storage?.dedupe ?? true,
      gc: config.storage?.gc ?? true,
      indexCacheMs: config.storage?.indexCacheMs ?? 0,
      watch: config.storage?.watch ?? true,
    },
    http: {
      address: config.http?.address ?? '127.0.0.1',
      port: Number(config.http?.port ?? 5000),
      realm: config.http?.realm ?? 'zot',
      swagger: config.http?.swagger ?? true,
      workers: config.http?.workers === 0 ? availableParallelism() : (config.http?.workers ?? 1),
    },
    log: {
      level: config.log?.level ?? 'info',
      ...(output ? { output: resolve(cwd, output) } : {}),
      ...(audit ? { audit: resolve(cwd, audit) } : {}),
    },
    ...(metrics && metrics.enable !== false ? { metrics: { path: metrics.prometheus?.path ?? '/metrics' } } : {}),
    maintenance: resolveMaintenance(config),
    config,
  };
}
