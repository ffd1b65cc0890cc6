// `@zotjs/server/workers`: the multi-process supervisor and what workers use, without loading the
// server itself (a supervisor never serves, so it stays small).
export { superviseWorkers, type SuperviseOptions, type WorkerRelay } from './supervisor.js';
export { isClusterWorker, runsMaintenance } from './role.js';
export { processStopSignal, type StopSignal, type StopSignalOptions } from './stop-signal.js';
export { shareUploadSessions, relayUploadSessions } from './upload-sessions.js';
