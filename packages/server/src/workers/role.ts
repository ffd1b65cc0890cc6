import cluster from 'node:cluster';

/** Set by the supervisor in the one worker that runs once-per-registry work (garbage collection, scrub). */
export const MAINTENANCE_ENV = 'ZOT_WORKER_MAINTENANCE';

/** This process is a worker started by {@link superviseWorkers} (or any node:cluster primary). */
export const isClusterWorker = (): boolean => cluster.isWorker;

/**
 * Whether this process should run the work that must run once per registry, not once per
 * process (garbage collection, scrub): a single-process server, or the one worker the
 * supervisor chose for it (a replacement for that worker is chosen again).
 */
export const runsMaintenance = (): boolean => !cluster.isWorker || process.env[MAINTENANCE_ENV] === '1';
