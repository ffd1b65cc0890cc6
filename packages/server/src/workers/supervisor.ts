import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@zotjs/core';
import { relayUploadSessions } from './upload-sessions.js';
import { MAINTENANCE_ENV } from './role.js';
import { processStopSignal } from './stop-signal.js';

/**
 * Several serving processes on one port (`http.workers` in zot-cli): this process only
 * supervises. It starts `workers` processes of a server script, which accept connections on
 * one shared listening socket (the kernel spreads them, the primary never touches a request),
 * relays what they tell each other, replaces a worker that dies, and stops them all when asked.
 * Everything the workers share lives in the storage, which must be safe for several processes
 * (the OCI-layout and S3 backends are: index updates and blob deletion take cross-process locks,
 * an upload session may continue in any worker).
 */

// More deaths than this within the window is a crash loop: stop instead of forking forever.
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
// Beyond the workers' own shutdown deadline, before they are killed.
const KILL_GRACE_MS = 5_000;

/**
 * Installed in the supervising process while the workers run: listens to their messages
 * (`cluster.on('message')`) and answers or passes them on. Returns a function that stops it.
 */
export type WorkerRelay = () => () => void;

export interface SuperviseOptions {
  /** How many serving processes (at least 1). */
  workers: number;
  /** The server script each worker runs (`zot-cli.js` for the CLI, your own otherwise). */
  exec: string;
  /** Its arguments (default none). */
  args?: readonly string[];
  /** Node flags for the workers (default: this process's own `process.execArgv`). */
  execArgv?: readonly string[];
  /** Resolves when the workers should stop. Default: the first SIGINT or SIGTERM this process gets. */
  stopSignal?: Promise<string>;
  /**
   * The workers' own deadline for in-flight requests after SIGTERM (default 10 s): a worker still
   * running this long plus 5 s later is killed.
   */
  shutdownDeadlineMs?: number;
  /**
   * Relays for the messages of features the workers use besides upload-session sharing (which is
   * always relayed): `relayBetweenWorkers` of `@zotjs/extensions/cluster` for metrics and storage gauges.
   */
  relays?: readonly WorkerRelay[];
  /** Where the supervisor's own lines go (workers started, died, replaced). None: no logs. */
  logger?: Logger;
}

/**
 * Runs the workers until `stopSignal` resolves or they cannot be kept running; resolves to an exit
 * code (0, or 1 when a worker could not start, workers kept dying, or one failed at shutdown).
 *
 * Each worker is told apart by `isClusterWorker()`; exactly one has `runsMaintenance()` true (for
 * once-per-registry work such as garbage collection), and its replacement does too. A worker stops
 * when it gets SIGTERM (see {@link processStopSignal}) and should then close its server and exit.
 * SIGHUP is forwarded to every worker (certificate reload).
 */
export async function superviseWorkers(options: SuperviseOptions): Promise<number> {
  const { logger, workers: count } = options;
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`superviseWorkers: workers must be an integer >= 1, got ${String(count)}`);
  if (!cluster.isPrimary) throw new Error('superviseWorkers: this process is itself a worker');
  const shutdownDeadlineMs = options.shutdownDeadlineMs ?? 10_000;
  const ownStop = options.stopSignal ? undefined : processStopSignal();
  const stopSignal = options.stopSignal ?? ownStop!.stopped;
  // Each worker accepts on the shared socket itself: no hop through this process per connection.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({
    exec: options.exec,
    args: [...(options.args ?? [])],
    ...(options.execArgv ? { execArgv: [...options.execArgv] } : {}),
  });
  const stopRelays = [relayUploadSessions, ...(options.relays ?? [])].map((relay) => relay());
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
    }, shutdownDeadlineMs + KILL_GRACE_MS).unref();
  };

  const start = (maintenance: boolean): void => {
    const worker = cluster.fork(maintenance ? { [MAINTENANCE_ENV]: '1' } : {});
    alive.add(worker);
    if (maintenance) maintenanceWorkers.add(worker);
    let ready = false;
    worker.once('listening', () => {
      ready = true;
      listening++;
      if (listening === count) logger?.info({ workers: count }, `zot-ts serving with ${count} worker processes`);
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
        logger?.error({ worker: worker.process.pid, code, signal }, 'a worker process could not start: stopping');
        failed = true;
        stopAll();
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS) {
        logger?.error({ restarts: restarts.length, windowMs: RESTART_WINDOW_MS }, 'worker processes keep dying: stopping');
        failed = true;
        stopAll();
        return;
      }
      logger?.error({ worker: worker.process.pid, code, signal }, 'a worker process died: starting a new one');
      start(wasMaintenance);
    });
  };

  for (let i = 0; i < count; i++) start(i === 0);
  void stopSignal.then((signal) => {
    if (stopping) return;
    logger?.info({ signal, workers: count }, 'stopping the worker processes');
    stopAll();
  });
  await done;
  process.off('SIGHUP', forwardHangup);
  ownStop?.release();
  for (const stop of stopRelays) stop();
  return failed ? 1 : 0;
}
