import { registryRoutes, type Logger, type RouteDefinition } from '@zotjs/core';
import { AuditLog } from './audit.js';
import { docsRoutes } from './docs.js';
import { healthRoutes, StorageHealth } from './health.js';
import { shareRepositoryChanges } from './cluster.js';
import { metricsRoute, RegistryMetrics, type MetricsRouteOptions } from './metrics.js';
import type { RequestRecord } from './record.js';
import type { StorageSource } from './storage-source.js';
import { StorageUsage } from './storage-usage.js';

/**
 * Everything an operator runs next to the registry API, wired from config: health probes,
 * Prometheus metrics, the OpenAPI document and Swagger UI, the audit log. The routes go to the
 * core handler as `extraRoutes`; `observe` goes to the adapter's end-of-request hook.
 */

export interface ExtensionsOptions {
  /**
   * The registry's storage (health checks and storage gauges go through its interface), or the
   * promise of it while it is being opened: `start()` waits for it.
   */
  storage: StorageSource;
  /** `info.version` of the OpenAPI document. */
  version: string;
  title?: string;
  /** Serve `/openapi.json`, `/openapi.yaml` and Swagger UI (`http.swagger`, default true). */
  swagger?: boolean;
  /** Auth is on: the document declares basic auth (and metrics need a user, see `metrics.requireUser`). */
  basicAuth?: boolean;
  /** `extensions.metrics`: absent or `enable: false` turns metrics off. */
  metrics?: { enable?: boolean } & MetricsRouteOptions;
  /** `log.audit`: the audit file. */
  auditFile?: string;
  /** Other extra routes the handler dispatches (auth's, ...), documented too. */
  otherRoutes?: () => readonly RouteDefinition[];
  logger?: Logger;
  /** Storage health check period (default 2 s). */
  healthIntervalMs?: number;
  /**
   * This process is a worker of a multi-process server (`http.workers`): scrapes get every
   * worker's metrics, and storage gauges follow the other workers' changes too.
   */
  clusterWorker?: boolean;
}

export interface Extensions {
  /** For the handler's `extraRoutes`. */
  routes: RouteDefinition[];
  /** For the adapter: called once per finished request. */
  observe(record: RequestRecord): void;
  /** Waits for the storage, checks it once (awaited), then checks and measures it in the background. */
  start(): Promise<void>;
  /** Stops the timers and flushes the audit file. */
  close(): void;
  health: StorageHealth;
  usage: StorageUsage;
  metrics?: RegistryMetrics;
  audit?: AuditLog;
}

const LITERAL_PATH = /^\/[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*\/?$/;

export function createExtensions(options: ExtensionsOptions): Extensions {
  const logger = options.logger;
  const health = new StorageHealth({
    storage: options.storage,
    ...(options.healthIntervalMs ? { intervalMs: options.healthIntervalMs } : {}),
    ...(logger ? { logger } : {}),
  });
  let announce: ((repository: string) => void) | undefined;
  const usage = new StorageUsage({
    storage: options.storage,
    ...(logger ? { logger } : {}),
    onObservedChange: (repository) => announce?.(repository),
  });
  const sharing = options.clusterWorker ? shareRepositoryChanges(usage) : undefined;
  announce = sharing?.announce;
  const routes: RouteDefinition[] = [...healthRoutes(health)];

  let metrics: RegistryMetrics | undefined;
  if (options.metrics && options.metrics.enable !== false) {
    const path = options.metrics.path ?? '/metrics';
    if (!LITERAL_PATH.test(path) || path === '/v2' || path.startsWith('/v2/')) {
      throw new Error(`extensions.metrics.prometheus.path must be a plain path outside /v2/, got ${JSON.stringify(path)}`);
    }
    metrics = new RegistryMetrics({ usage, ...(options.clusterWorker ? { clusterWorker: true } : {}) });
    routes.push(metricsRoute(metrics, { ...options.metrics, path }));
  }

  if (options.swagger ?? true) {
    routes.push(
      ...docsRoutes({
        title: options.title ?? 'zot-ts OCI registry',
        version: options.version,
        description:
          'OCI distribution-spec v1.1 registry (zot-compatible configuration), plus health, metrics and documentation endpoints.',
        ...(options.basicAuth ? { security: 'basic' as const } : {}),
        // The registry API first: it is what readers come for.
        routes: () => [...registryRoutes, ...(options.otherRoutes?.() ?? []), ...routes],
      }),
    );
  }

  const taken = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.template}`;
    if (taken.has(key)) throw new Error(`two routes for ${key} (is the metrics path taken?)`);
    taken.add(key);
  }

  const audit = options.auditFile ? new AuditLog({ file: options.auditFile }) : undefined;

  return {
    routes,
    health,
    usage,
    ...(metrics ? { metrics } : {}),
    ...(audit ? { audit } : {}),
    observe(record) {
      // An observer failing must never break serving.
      try {
        metrics?.observe(record);
        usage.observe(record);
        audit?.observe(record);
      } catch (err) {
        logger?.error({ err }, 'recording a finished request failed');
      }
    },
    async start() {
      await options.storage; // a storage that cannot be opened stops the start, with its own error
      await health.start();
      void usage.start();
    },
    close() {
      health.stop();
      usage.close();
      sharing?.stop();
      audit?.close();
    },
  };
}
