import cluster, { type Worker } from 'node:cluster';
import type { UploadSessionEvent, UploadSessionSharing } from '@zotjs/core';

/**
 * `maxUploadSessionsPerClient` across the workers of a multi-process server: each worker tells
 * the others (through the supervisor) when one of a client's upload sessions opens, is used or
 * ends, and a worker that starts later (a replacement) asks the others for the sessions they know.
 */

const UPLOAD_SESSIONS = 'zot:upload-sessions';
const UPLOAD_SESSIONS_WANTED = 'zot:upload-sessions-wanted';
/** Messages the supervisor passes on to every other worker as they are. */
const BROADCAST: ReadonlySet<string> = new Set([UPLOAD_SESSIONS, UPLOAD_SESSIONS_WANTED]);

interface UploadSessions {
  type: typeof UPLOAD_SESSIONS;
  events: UploadSessionEvent[];
}
interface UploadSessionsWanted {
  type: typeof UPLOAD_SESSIONS_WANTED;
}

const isMessage = <T extends { type: string }>(message: unknown, type: T['type']): message is T =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;

/**
 * Sends to the supervisor; false when there is no channel (not a worker, or it closed). Checked
 * first: `process.send` on a closed channel emits an 'error' on `process`, which would crash.
 */
function toPrimary<T extends { type: string }>(message: T): boolean {
  if (!process.connected || !process.send) return false;
  process.send(message); // false only means queued behind others: it is still sent
  return true;
}

/**
 * In the supervisor (installed by {@link superviseWorkers}): passes upload-session messages on to
 * the other workers. Returns a function that stops listening.
 */
export function relayUploadSessions(): () => void {
  const onMessage = (worker: Worker, message: unknown): void => {
    if (typeof message !== 'object' || message === null || !BROADCAST.has(String((message as { type?: unknown }).type))) return;
    for (const other of Object.values(cluster.workers ?? {})) {
      if (other && other !== worker && other.isConnected()) other.send(message);
    }
  };
  cluster.on('message', onMessage);
  return () => {
    cluster.off('message', onMessage);
  };
}

/**
 * In a worker: the upload-session count shared with the other workers, for `createServer`'s
 * `uploadSessionSharing`. The count is shared within moments, not atomically.
 */
export function shareUploadSessions(): UploadSessionSharing {
  return {
    publish: (event) => {
      toPrimary({ type: UPLOAD_SESSIONS, events: [event] } satisfies UploadSessions);
    },
    connect: (receive, current) => {
      process.on('message', (message: unknown) => {
        if (isMessage<UploadSessions>(message, UPLOAD_SESSIONS)) {
          for (const event of message.events) receive(event);
        } else if (isMessage<UploadSessionsWanted>(message, UPLOAD_SESSIONS_WANTED)) {
          const events = current();
          if (events.length > 0) toPrimary({ type: UPLOAD_SESSIONS, events } satisfies UploadSessions);
        }
      });
      toPrimary({ type: UPLOAD_SESSIONS_WANTED } satisfies UploadSessionsWanted);
    },
  };
}
