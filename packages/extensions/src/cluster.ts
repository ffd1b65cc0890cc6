import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry as PromRegistry } from 'prom-client';
import type { StorageUsage } from './storage-usage.js';

/**
 * What the extensions in the processes of a multi-process server (`http.workers`, run by
 * `superviseWorkers` of `@zotjs/server/workers`) tell each other, through the primary: a worker
 * asks for the metrics of all workers (one scrape must not see one worker's counters only); a
 * worker that changed a repository says so, so every worker's storage gauges measure it again
 * (each worker keeps its own {@link StorageUsage}). The supervisor relays these when given
 * {@link relayBetweenWorkers}; it relays upload-session counts itself.
 */

const METRICS_REQUEST = 'zot:metrics-request';
const METRICS_RESPONSE = 'zot:metrics-response';
const REPOSITORY_CHANGED = 'zot:repository-changed';
/** Messages the primary passes on to every other worker as they are. */
const BROADCAST: ReadonlySet<string> = new Set([REPOSITORY_CHANGED]);
const METRICS_TIMEOUT_MS = 5000;

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}
interface MetricsResponse {
  type: typeof METRICS_RESPONSE;
  id: number;
  body?: string;
  error?: string;
}
interface RepositoryChanged {
  type: typeof REPOSITORY_CHANGED;
  repository: string;
}

const isMessage = <T extends { type: string }>(message: unknown, type: T['type']): message is T =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;

/**
 * In the primary (a `WorkerRelay` for `superviseWorkers`): answers workers' metrics requests with
 * every worker's metrics aggregated (counters and histograms summed, gauges as each declares),
 * and relays repository changes to the other workers. Returns a function that stops listening.
 */
export function relayBetweenWorkers(): () => void {
  const aggregator = new AggregatorRegistry();
  const onMessage = (worker: Worker, message: unknown): void => {
    if (isMessage<MetricsRequest>(message, METRICS_REQUEST)) {
      aggregator.clusterMetrics().then(
        (body) => reply(worker, { type: METRICS_RESPONSE, id: message.id, body }),
        (err: unknown) =>
          reply(worker, { type: METRICS_RESPONSE, id: message.id, error: err instanceof Error ? err.message : String(err) }),
      );
    } else if (isBroadcast(message)) {
      for (const other of Object.values(cluster.workers ?? {})) {
        if (other && other !== worker && other.isConnected()) other.send(message);
      }
    }
  };
  cluster.on('message', onMessage);
  return () => {
    cluster.off('message', onMessage);
  };
}

const isBroadcast = (message: unknown): message is { type: string } =>
  typeof message === 'object' && message !== null && BROADCAST.has(String((message as { type?: unknown }).type));

/**
 * Sends to the primary; false when there is no channel (not a worker, or it closed). Checked
 * first: `process.send` on a closed channel emits an 'error' on `process`, which would crash.
 */
function toPrimary<T extends { type: string }>(message: T): boolean {
  if (!process.connected || !process.send) return false;
  process.send(message); // false only means queued behind others: it is still sent
  return true;
}

function reply(worker: Worker, message: MetricsResponse): void {
  if (worker.isConnected()) worker.send(message);
}

/**
 * In a worker: lets the primary collect `registry` for aggregated scrapes, and returns the
 * renderer of the aggregated metrics (asked of the primary).
 */
export function clusterMetricsRenderer(registry: PromRegistry): () => Promise<string> {
  // Constructing one installs prom-client's worker-side listener; setRegistries says what it answers with.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(
        () => finish(new Error('the primary process did not answer the metrics request')),
        METRICS_TIMEOUT_MS + 1000,
      );
      const onMessage = (message: unknown): void => {
        if (isMessage<MetricsResponse>(message, METRICS_RESPONSE) && message.id === id) {
          finish(message.error === undefined ? undefined : new Error(message.error), message.body ?? '');
        }
      };
      const finish = (err?: Error, body = ''): void => {
        clearTimeout(timer);
        process.off('message', onMessage);
        if (err) reject(err);
        else resolve(body);
      };
      process.on('message', onMessage);
      if (!toPrimary({ type: METRICS_REQUEST, id } satisfies MetricsRequest)) finish(new Error('no channel to the primary process'));
    });
}

/**
 * In a worker: repository changes made here are announced to the other workers, and theirs are
 * measured here. Returns the announcer for this worker's changes and a function that stops listening.
 */
export function shareRepositoryChanges(usage: StorageUsage): { announce: (repository: string) => void; stop: () => void } {
  const onMessage = (message: unknown): void => {
    if (isMessage<RepositoryChanged>(message, REPOSITORY_CHANGED)) usage.repositoryChanged(message.repository);
  };
  process.on('message', onMessage);
  return {
    announce: (repository) => {
      toPrimary({ type: REPOSITORY_CHANGED, repository } satisfies RepositoryChanged);
    },
    stop: () => {
      process.off('message', onMessage);
    },
  };
}
