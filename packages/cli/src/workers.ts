import cluster, { type Worker } from 'node:cluster';
import { relayBetweenWorkers } from '@zotjs/extensions/cluster';
import type { Logger } from 'pino';

/**
 * `http.workers` > 1: this process only supervises. It starts that many `zot-cli serve`
 * processes that accept connections on one shared listening socket (the kernel spreads them, the
 * primary never touches a request), relays what they tell each other (metrics, storage changes),
 * replaces a worker that dies, and stops them all on SIGINT/SIGTERM. Everything the workers
 * share lives in the storage folder, which is safe for several processes (index updates and
 * blob deletion take cross-process locks; an upload session may continue in any worker).
 */

/** Set in the one worker that runs garbage collection and scrub, so they run once, not per worker. */
const MAINTENANCE_ENV = 'ZOT_WORKER_MAINTENANCE';
// More deaths than this within the window is a crash loop: stop instead of forking forever.
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
// Beyond the workers' own shutdown deadline, before they are killed.
const KILL_GRACE_MS = 5_000;

export const isClusterWorker = (): boolean => cluster.isWorker;

/** Whether this process runs the background maintenance: a single-process server, or the worker chosen for it. */
export const runsMaintenance = (): boolean => !cluster.isWorker || process.env[MAINTENANCE_ENV] === '1';

export interface SuperviseOptions {
  workers: number;
  logger: Logger;
  /** The script and arguments that run one server (`zot-cli.js serve [config]`). */
  exec: string;
  args: readonly string[];
  /** Resolves when the server should stop (signals, in the CLI). */
  stopSignal: Promise<string>;
  /** The workers' own deadline for in-flight requests (they read it from the environment too). */
  shutdownDeadlineMs: number;
}

/** Runs the workers until `stopSignal` resolves or they cannot be kept running. Resolves to the exit code. */
export async function superviseWorkers(options: SuperviseOptions): Promise<number> {
  const { logger, workers: count } = options;
  // Each worker accepts on the shared socket itself: no hop through this process per connection.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: options.exec, args: [...options.args] });
  const stopRelay = relayBetweenWorkers();
  const alive = new Set<Worker>();
  const maintenanceWorkers = new Set<Worker>();
  const restarts: number[] = [];
  let stopping = false;
  let failed = false;
  let listening = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const forwardHangup = (): void => {
    for (const worker of alive) worker.process.kill('SIGHUP');
  };
  process.on('SIGHUP', forwardHangup); // certificate reload, as in a single-process server

  const stopAll = (): void => {
    stopping = true;
    for (const worker of alive) worker.process.kill('SIGTERM');
    if (alive.size === 0) resolveDone();
    // A worker still there past its own deadline (stuck on a request) is killed.
    setTimeout(() => {
      for (const worker of alive) worker.process.kill('SIGKILL');
    }, options.shutdownDeadlineMs + KILL_GRACE_MS).unref();
  };

  const start = (maintenance: boolean): void => {
    const worker = cluster.fork(maintenance ? { [MAINTENANCE_ENV]: '1' } : {});
    alive.add(worker);
    if (maintenance) maintenanceWorkers.add(worker);
    let ready = false;
    worker.once('listening', () => {
      ready = true;
      listening++;
      if (listening === count) logger.info({ workers: count }, `zot-ts serving with ${count} worker processes`);
    });
    worker.once('exit', (code, signal) => {
      alive.delete(worker);
      const wasMaintenance = maintenanceWorkers.delete(worker);
      if (ready) listening--;
      if (stopping) {
        if (code !== 0) failed = true;
        if (alive.size === 0) resolveDone();
        return;
      }
      if (!ready) {
        // It never served (bad port, unreadable certificate): the others would fail alike.
        logger.error({ worker: worker.process.pid, code, signal }, 'a worker process could not start: stopping');
        failed = true;
        stopAll();
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS) {
        logger.error({ restarts: restarts.length, windowMs: RESTART_WINDOW_MS }, 'worker processes keep dying: stopping');
        failed = true;
        stopAll();
        return;
      }
      logger.error({ worker: worker.process.pid, code, signal }, 'a worker process died: starting a new one');
      start(wasMaintenance);
    });
  };

  for (let i = 0; i < count; i++) start(i === 0);
  void options.stopSignal.then((signal) => {
    if (stopping) return;
    logger.info({ signal, workers: count }, 'stopping the worker processes');
    stopAll();
  });
  await done;
  process.off('SIGHUP', forwardHangup);
  stopRelay();
  return failed ? 1 : 0;
}
