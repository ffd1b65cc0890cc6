import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry as PromRegistry } from 'prom-client';
import { RegistryError, type RouteDefinition } from '@zotjs/core';
import { clusterMetricsRenderer } from './cluster.js';
import type { RequestRecord } from './record.js';
import type { StorageUsage } from './storage-usage.js';

/**
 * Prometheus metrics. Labels are bounded by construction: the route template (never the raw
 * path), one of a fixed set of methods, and the status code.
 */

export interface MetricsOptions {
  /** Source of the repository, storage-bytes and upload-session gauges (absent when the storage reports no usage). */
  usage?: StorageUsage;
  /** Node process metrics (CPU, memory, event-loop lag, handles); default true. */
  processMetrics?: boolean;
  /** This process is a worker of a multi-process server: a scrape gets every worker's metrics, aggregated. */
  clusterWorker?: boolean;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const UPLOAD_OPERATIONS = new Set(['startUpload', 'uploadChunk', 'completeUpload', 'putManifest']);
const DOWNLOAD_OPERATIONS = new Set(['getBlob', 'getManifest']);
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const LABELS = ['method', 'route', 'status'] as const;

export class RegistryMetrics {
  readonly registry = new PromRegistry();
  private readonly requests: Counter<(typeof LABELS)[number]>;
  private readonly latency: Histogram<(typeof LABELS)[number]>;
  private readonly uploaded: Counter;
  private readonly downloaded: Counter;
  private readonly renderer: (() => Promise<string>) | undefined;

  constructor(options: MetricsOptions = {}) {
    this.renderer = options.clusterWorker ? clusterMetricsRenderer(this.registry) : undefined;
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'zot_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: LABELS,
      registers,
    });
    this.latency = new Histogram({
      name: 'zot_http_request_duration_seconds',
      help: 'Time from request to the end of the response, by method, route template and status',
      labelNames: LABELS,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.uploaded = new Counter({
      name: 'zot_uploaded_bytes_total',
      help: 'Request body bytes received by push operations (uploads and manifest puts)',
      registers,
    });
    this.downloaded = new Counter({
      name: 'zot_downloaded_bytes_total',
      help: 'Blob and manifest bytes served (successful pulls)',
      registers,
    });
    // The storage gauges exist only for a storage that reports usage (known once it is open).
    const usage = options.usage;
    if (usage) void usage.supported.then((supported) => supported && this.addUsageGauges(usage));
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  private addUsageGauges(usage: StorageUsage): void {
    const registers = [this.registry];
    new Gauge({
      name: 'zot_repositories',
      help: 'Repositories in the storage',
      registers,
      // Every worker of a multi-process server measures the same storage: one value, not a sum.
      aggregator: 'max',
      collect() {
        this.set(usage.snapshot().repositories);
      },
    });
    new Gauge({
      name: 'zot_storage_bytes',
      help: 'Bytes of blobs and indexes in the storage (blobs shared through hard links or deduplication once)',
      registers,
      aggregator: 'max',
      collect() {
        this.set(usage.snapshot().bytes);
      },
    });
    new Gauge({
      name: 'zot_upload_sessions_in_progress',
      help: 'Blob upload sessions started and not yet completed or cancelled',
      registers,
      aggregator: 'max',
      collect() {
        this.set(usage.snapshot().uploadSessions);
      },
    });
    new Gauge({
      name: 'zot_storage_usage_complete',
      help: '1 once the startup measurement of the storage has finished (the gauges above are partial before)',
      registers,
      aggregator: 'max',
      collect() {
        this.set(usage.snapshot().complete ? 1 : 0);
      },
    });
  }

  observe(record: RequestRecord): void {
    const labels = {
      method: METHODS.has(record.method) ? record.method : 'OTHER',
      route: record.outcome.route ?? 'unmatched',
      status: String(record.status),
    };
    this.requests.inc(labels);
    this.latency.observe(labels, record.durationMs / 1000);
    const operation = record.outcome.operationId;
    if (operation && UPLOAD_OPERATIONS.has(operation) && record.bytesIn > 0) this.uploaded.inc(record.bytesIn);
    if (operation && DOWNLOAD_OPERATIONS.has(operation) && record.status < 300 && record.bytesOut > 0) this.downloaded.inc(record.bytesOut);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: this.renderer ? await this.renderer() : await this.registry.metrics() };
  }
}

export interface MetricsRouteOptions {
  /** Default `/metrics` (`extensions.metrics.prometheus.path`). */
  path?: string;
  /**
   * With auth on, as zot: only authenticated users may scrape (`challenge` is the
   * `WWW-Authenticate` value of the 401), and only `users` when given (`accessControl.metrics.users`).
   */
  requireUser?: { challenge: string; users?: readonly string[] };
}

/** The Prometheus scrape endpoint. */
export function metricsRoute(metrics: RegistryMetrics, options: MetricsRouteOptions = {}): RouteDefinition {
  const path = options.path ?? '/metrics';
  const requireUser = options.requireUser;
  const users = requireUser?.users ? new Set(requireUser.users) : undefined;
  return {
    method: 'GET',
    template: path,
    operationId: 'getMetrics',
    summary: 'Prometheus metrics: requests by route template, latency, bytes, repositories, storage, process',
    action: 'none',
    tag: 'metrics',
    responses: users
      ? { 200: 'metrics in the Prometheus text format', 403: 'user may not read metrics' }
      : { 200: 'metrics in the Prometheus text format' },
    responseBody: { mediaTypes: ['text/plain'], schema: { type: 'string' } },
    async handle({ outcome }) {
      if (requireUser) {
        if (!outcome.identity) {
          throw new RegistryError('UNAUTHORIZED', 'authentication required', { headers: { 'WWW-Authenticate': requireUser.challenge } });
        }
        if (users && !users.has(outcome.identity.username)) throw new RegistryError('DENIED', 'metrics access denied');
      }
      const { contentType, body } = await metrics.render();
      const bytes = Buffer.from(body);
      return {
        status: 200,
        headers: { 'Content-Type': contentType, 'Content-Length': String(bytes.length), 'Cache-Control': 'no-store' },
        body: bytes,
      };
    },
  };
}
