import type { Readable } from 'node:stream';
import type { Action, ClientCertificate, Identity } from '../auth.js';

/** A request as any HTTP framework can describe it. Header names are lowercase. */
export interface RegistryRequest {
  method: string;
  /** The path as received: not percent-decoded, without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Readonly<Record<string, string | undefined>>;
  /** The body as a byte stream (never buffered by the adapter). */
  body?: Readable | undefined;
  remoteAddress?: string | undefined;
  /** Set by TLS adapters when the client presented a certificate the server verified. */
  clientCertificate?: ClientCertificate | undefined;
  /** Aborted when the client goes away. */
  signal?: AbortSignal | undefined;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string>;
  /** Bytes, or a stream for blob content. Absent for HEAD and bodiless answers. */
  body?: Uint8Array | Readable;
  /**
   * `Set-Cookie` values, one per cookie (login sessions): HTTP repeats this header instead of
   * joining its values, so it cannot live in `headers`. Adapters write one header line each.
   */
  cookies?: readonly string[];
}

/** Facts about a handled request, for the adapter's request log and for metrics. */
export interface RequestOutcome {
  /** The route template (`/v2/{name}/manifests/{reference}`), never the raw path. */
  route?: string;
  operationId?: string;
  repository?: string;
  identity?: Identity;
  action?: Action;
  /** For uploads and manifest pushes: the digest that was stored. */
  digest?: string;
}

export type HandledResponse = RegistryResponse & { outcome: RequestOutcome };

/**
 * One finished request, as an HTTP adapter reports it once the response is over (the Koa
 * adapter's `onRequestEnd`): what its log line says. Metrics, the audit log and the storage
 * counters feed on it.
 */
export interface RequestRecord {
  method: string;
  /** The raw path (log it truncated; never a metric label: `outcome.route` is the template). */
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
