import { collectGarbage, runPeriodically, scrubStorage, type PeriodicTask, type RegistryEvents, type RegistryStorage } from '@zotjs/core';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import type { Logger } from 'pino';
import type { Settings } from './config/settings.js';
import { buildStorage } from './storage.js';

// One storage per loaded config: the server, its extensions (health, usage) and its background
// maintenance share the instance (one S3 client, one set of caches and watches).
const opened = new WeakMap<Settings, Promise<RegistryStorage>>();

/**
 * The storage the config describes: `storage.storageDriver` (S3), else OCI layouts in
 * rootDirectory. Opened once per settings object; later calls get the same instance.
 */
export function openStorage(settings: Settings, logger: Logger): Promise<RegistryStorage> {
  let storage = opened.get(settings);
  if (!storage) {
    storage = open(settings, logger);
    opened.set(settings, storage);
  }
  return storage;
}

async function open(settings: Settings, logger: Logger): Promise<RegistryStorage> {
  return (
    (await buildStorage(settings, logger)) ??
    new OciLayoutStorage({
      rootDirectory: settings.storage.rootDirectory,
      dedupe: settings.storage.dedupe,
      indexRevalidateMs: settings.storage.indexCacheMs,
      watch: settings.storage.watch,
    })
  );
}

export interface Maintenance {
  /** Stops the background passes, aborting a running one, and waits for it to end. */
  stop(): Promise<void>;
}

/**
 * Background upkeep while serving: garbage collection every `storage.gcInterval` (when
 * `storage.gc`), scrub every `extensions.scrub.interval` (when enabled). Passes run one at a
 * time, one repository after the other, beside requests: they never hold a lock for long.
 * Removals are announced on `events` (the server's registry events), as requests' changes are.
 */
export function startMaintenance(storage: RegistryStorage, settings: Settings, logger: Logger, events?: RegistryEvents): Maintenance {
  const { maintenance } = settings;
  const tasks: PeriodicTask[] = [];
  if (maintenance.gc) {
    const gcLogger = logger.child({ task: 'gc' });
    tasks.push(
      runPeriodically(
        (signal) => collectGarbage(storage, { ...maintenance.gcOptions, signal, logger: gcLogger, ...(events ? { events } : {}) }),
        maintenance.gcIntervalMs,
        {
          name: 'gc',
          logger: gcLogger,
        },
      ),
    );
    logger.info({ intervalMs: maintenance.gcIntervalMs, delayMs: maintenance.gcOptions.delayMs }, 'gc: scheduled');
  }
  if (maintenance.scrub) {
    const scrubLogger = logger.child({ task: 'scrub' });
    tasks.push(
      runPeriodically((signal) => scrubStorage(storage, { signal, logger: scrubLogger }), maintenance.scrub.intervalMs, {
        name: 'scrub',
        logger: scrubLogger,
      }),
    );
    logger.info({ intervalMs: maintenance.scrub.intervalMs }, 'scrub: scheduled');
  }
  return {
    async stop() {
      await Promise.all(tasks.map((t) => t.stop()));
    },
  };
}
