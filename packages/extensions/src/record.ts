import type { RequestOutcome } from '@zotjs/core';

/**
 * One finished request, as the HTTP adapter reports it once the response is over (the Koa
 * adapter's `onRequestEnd`). Metrics, the audit log and the storage counters all feed on it.
 */
export interface RequestRecord {
  method: string;
  /** The raw path (never used as a metric label: `outcome.route` is the template). */
  path: string;
  status: number;
  /** Request body bytes read. */
  bytesIn: number;
  /** Response body bytes written. */
  bytesOut: number;
  durationMs: number;
  outcome: RequestOutcome;
  remoteAddress?: string;
  /** The client went away before the response was complete. */
  aborted?: boolean;
}

export type RequestObserver = (record: RequestRecord) => void;

export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
