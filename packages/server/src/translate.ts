import { verifiedCertificateOf } from '@zotjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { RegistryRequest, RegistryResponse } from '@zotjs/core';

/**
 * One request as the server serves it, whoever delivered it: a framework adapter such as
 * `@zotjs/koa` (from its ctx) or `createRequestListener` (straight from node).
 */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** The raw (not percent-decoded) pathname, relative to any mount prefix. */
  path: string;
  /** The query string without its `?`. */
  querystring: string;
  /** The client's address (behind a trusted proxy, the one it forwarded). */
  remoteAddress: string | undefined;
}

/**
 * Node's headers as the core wants them: lowercase names, one string each. Node already joins
 * repeated headers into one string except `set-cookie` (always an array), so only a request
 * carrying that one needs a copy.
 */
export function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string | undefined> {
  if (headers['set-cookie'] === undefined) return headers as Record<string, string | undefined>;
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** The verified client certificate (CN, subject DN, SANs), when the connection is mutual TLS. */
export function clientCertificateOf(req: IncomingMessage): RegistryRequest['clientCertificate'] {
  return verifiedCertificateOf(req.socket);
}

/** The core's view of a request, from its parts (see exchange.ts). */
export function registryRequestOf(
  exchange: Pick<Exchange, 'req' | 'method' | 'path' | 'querystring' | 'remoteAddress'>,
  body: Readable | undefined,
  abort: AbortSignal | { readonly signal: AbortSignal },
): RegistryRequest {
  return new NodeRegistryRequest(exchange, body, abort);
}

/**
 * A request whose parts are made when first read: most requests (manifest and blob reads) never
 * look at the query, and the abort signal is only made when storage asks for it. One class, so
 * every request has the same shape for V8.
 */
class NodeRegistryRequest implements RegistryRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Readable | undefined;
  readonly remoteAddress: string | undefined;
  readonly clientCertificate: RegistryRequest['clientCertificate'];
  private readonly querystring: string;
  private parsedQuery: URLSearchParams | undefined;
  private readonly abort: AbortSignal | { readonly signal: AbortSignal };

  constructor(
    exchange: Pick<Exchange, 'req' | 'method' | 'path' | 'querystring' | 'remoteAddress'>,
    body: Readable | undefined,
    abort: AbortSignal | { readonly signal: AbortSignal },
  ) {
    this.method = exchange.method;
    this.path = exchange.path;
    this.headers = flattenHeaders(exchange.req.headers);
    this.body = body;
    this.remoteAddress = exchange.remoteAddress || undefined;
    this.clientCertificate = clientCertificateOf(exchange.req);
    this.querystring = exchange.querystring;
    this.parsedQuery = undefined;
    this.abort = abort;
  }

  get query(): URLSearchParams {
    return (this.parsedQuery ??= new URLSearchParams(this.querystring));
  }

  get signal(): AbortSignal {
    return this.abort instanceof AbortSignal ? this.abort : this.abort.signal;
  }
}

// Statuses that never carry a body (node and Koa send none either).
const BODILESS = new Set([204, 304]);

/**
 * Writes a response whose body (if any) is in memory to node's response in one go: the status
 * line and headers are built once, without the per-header bookkeeping of `setHeader` or Koa's
 * body inference. The headers are exactly the core's, plus a Content-Length the core left out.
 */
export function writeDirectly(res: ServerResponse, method: string, response: RegistryResponse, body: Uint8Array | undefined): void {
  let headers: Record<string, string | string[]> = response.headers;
  if (response.cookies?.length) headers = { ...headers, 'Set-Cookie': [...response.cookies] };
  if (headers['Content-Length'] === undefined && method !== 'HEAD' && !BODILESS.has(response.status)) {
    // Known now: without it node would fall back to chunked encoding.
    headers = { ...headers, 'Content-Length': String(body?.byteLength ?? 0) };
  }
  res.writeHead(response.status, headers);
  if (body !== undefined && method !== 'HEAD' && !BODILESS.has(response.status)) res.end(body);
  else res.end();
}
