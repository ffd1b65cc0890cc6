export { createServer, type ServerConfig, type ServerTimeouts, type RegistryServer, type ListeningAddress } from './server.js';
export { createRequestListener, splitTarget } from './request-listener.js';
export { DEFAULT_RECLAIM_EVERY_BYTES, GcNotExposedError } from './body-buffer-reclaimer.js';
export type { RequestRecord } from '@zotjs/core';
export {
  superviseWorkers,
  isClusterWorker,
  runsMaintenance,
  processStopSignal,
  shareUploadSessions,
  type SuperviseOptions,
  type WorkerRelay,
  type StopSignal,
  type StopSignalOptions,
} from './workers/index.js';
