import type { ServerResponse } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import {
  isRecycling,
  RegistryError,
  registryErrorResponse,
  type HandledResponse,
  type Logger,
  type RegistryHandler,
  type RegistryResponse,
  type RequestRecord,
} from '@zotjs/core';
import { BodyBufferReclaimer } from './body-buffer-reclaimer.js';
import { ByteCounter } from './counting.js';
import { LazyAbort } from './lazy-abort.js';
import { pumpRecycling } from './recycling-pump.js';
import { registryRequestOf, writeDirectly, type Exchange } from './translate.js';

export type { Exchange } from './translate.js';

/** How the status line and headers get written: through a framework's response object or straight to node. */
export interface ResponseWriter {
  /** The whole response: status, headers, then `body` (in memory, or none) and the end. */
  complete(response: RegistryResponse, body: Uint8Array | undefined): void;
  /** Status and headers only: the adapter writes the streamed `body` to `res` itself next. */
  head(response: RegistryResponse, body: Readable): void;
}

export interface ExchangeOptions {
  logger?: Logger;
  onRequestEnd?: (record: RequestRecord) => void;
  /**
   * A young-generation GC after every this many bytes of request body (default 0: never). Needs a
   * process started with `--expose-gc`: without it, {@link exchangeServer} throws.
   */
  reclaimBodyBuffersEvery?: number;
}

/**
 * Serves one exchange; resolves once the handler is done (a streamed body may still be flowing).
 * `bodyConsumed` tells whether something before the registry (a body parser) already read the body.
 */
export type ExchangeServer = (exchange: Exchange, writer: ResponseWriter, bodyConsumed?: () => boolean) => Promise<void>;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * The work around the core handler, once for every framework: the request body counted
 * on its way to the handler (and drained if unread), an abort when the client goes away, streamed
 * bodies written with their buffers recycled, and one log line and `onRequestEnd` call per request.
 */
export function exchangeServer(handler: RegistryHandler, options: ExchangeOptions): ExchangeServer {
  const { logger, onRequestEnd } = options;
  const reclaimEvery = options.reclaimBodyBuffersEvery ?? 0;
  // Checked here, when the server or middleware is made: a missing `gc` is a startup error, not a silent no-op.
  const reclaimer = reclaimEvery !== 0 ? new BodyBufferReclaimer(reclaimEvery) : undefined;

  return async function serve(exchange, writer, bodyConsumed) {
    const started = process.hrtime.bigint();
    const { req, res, method } = exchange;

    // Fires when the client goes away before the response is complete, so storage stops work.
    const disconnect = new LazyAbort();
    const log: LogState = { started, disconnect };
    let handled: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (handled = resolve));
    res.once('close', () => {
      if (!res.writableFinished) disconnect.abort(new Error('client disconnected'));
      // Logged once the response is over and the handler is done (after a disconnect it may still be cleaning up).
      if (logger || onRequestEnd) {
        void settled.then(() => {
          // At level warn and above only failures are logged: no line to build for the rest.
          const logged = logger !== undefined && (res.statusCode >= 500 || logger.isLevelEnabled?.('info') !== false);
          if (!logged && !onRequestEnd) return;
          const record = summarize(exchange, log);
          if (logged && logger) writeLog(logger, record);
          try {
            onRequestEnd?.(record);
          } catch (err) {
            // An observer (metrics, audit) failing must not become an unhandled rejection.
            logger?.error({ err }, 'onRequestEnd observer failed');
          }
        });
      }
    });

    if (BODY_METHODS.has(method)) {
      if (bodyConsumed?.()) {
        logger?.error({ method, path: exchange.path }, 'request body already consumed: mount registryMiddleware before any body parser');
        log.response = misconfigured(method);
        writer.complete(log.response, log.response.body as Uint8Array | undefined);
        handled();
        return;
      }
      const counter = new ByteCounter(reclaimer);
      pipeline(req, counter, () => undefined);
      // A body the route did not read (an early error) is drained so the connection stays usable.
      res.once('finish', () => counter.readableEnded || counter.resume());
      log.inCounter = counter;
    }

    let response: HandledResponse;
    try {
      response = await handler(registryRequestOf(exchange, log.inCounter, disconnect));
    } finally {
      handled();
    }
    log.response = response;
    const body = response.body;
    if (!(body instanceof Readable)) {
      writer.complete(response, body);
      return;
    }
    if (method === 'HEAD') {
      body.destroy();
      writer.complete(response, undefined);
      return;
    }
    writer.head(response, body);
    const counted = { bytes: 0 };
    log.outCounter = counted;
    // Recycling bodies get their buffers back once the socket took them (see recycling-pump.ts).
    if (isRecycling(body)) pumpRecycling(body, res, counted);
    else pipeCounted(body, res, counted, logger);
  };
}

/** `pipeline` into the response (a failing body cuts the connection: never a short 200), counting bytes. */
function pipeCounted(body: Readable, res: ServerResponse, counted: { bytes: number }, logger: Logger | undefined): void {
  pipeline(body, res, (err) => {
    if (err && !isClientGone(err)) logger?.error({ err }, 'response body failed after its headers were sent');
  });
  body.on('data', (chunk: Buffer) => {
    counted.bytes += chunk.length;
  });
}

/** Errors that only mean the client went away or sent garbage: not the registry's failure. */
function isClientGone(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  // HPE_*: node's HTTP parser on a connection the client cut (or garbage it sent).
  if (code?.startsWith('HPE_')) return true;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || err.message === 'aborted';
}

interface LogState {
  started: bigint;
  disconnect: LazyAbort;
  response?: HandledResponse;
  inCounter?: ByteCounter;
  outCounter?: { bytes: number };
}

/** The facts of a finished request. */
function summarize(exchange: Exchange, state: LogState): RequestRecord {
  const { started, response, inCounter, outCounter, disconnect } = state;
  const { res, method } = exchange;
  const fixedBody = response?.body && !(response.body instanceof Readable) ? response.body.byteLength : 0;
  const record: RequestRecord = {
    method,
    path: exchange.path,
    status: res.statusCode,
    bytesIn: inCounter?.bytes ?? 0,
    bytesOut: outCounter ? outCounter.bytes : method !== 'HEAD' && res.writableFinished ? fixedBody : 0,
    durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
    outcome: response?.outcome ?? {},
  };
  if (exchange.remoteAddress) record.remoteAddress = exchange.remoteAddress;
  if (disconnect.aborted) record.aborted = true;
  return record;
}

/** One structured line per request, once the response is over. Never headers or the query (secrets). */
function writeLog(logger: Logger, record: RequestRecord): void {
  const { outcome, path } = record;
  const line: Record<string, unknown> = {
    method: record.method,
    route: outcome.route ?? null,
    path: path.length > 512 ? `${path.slice(0, 512)}...` : path,
    status: record.status,
    bytesIn: record.bytesIn,
    bytesOut: record.bytesOut,
    durationMs: record.durationMs,
  };
  if (outcome.operationId) line.operation = outcome.operationId;
  if (outcome.repository) line.repository = outcome.repository;
  if (outcome.identity) line.user = outcome.identity.username;
  if (outcome.digest) line.digest = outcome.digest;
  if (record.remoteAddress) line.remoteAddress = record.remoteAddress;
  if (record.aborted) line.aborted = true;
  if (record.status >= 500 && !record.aborted) logger.error(line, 'request');
  else logger.info(line, 'request');
}

function misconfigured(method: string): HandledResponse {
  const error = new RegistryError('INTERNAL_ERROR', 'the request body is not available to the registry');
  return { ...registryErrorResponse(error, method), outcome: {} };
}

/** Writes straight to node's response: no framework in between. */
export function nodeWriter(res: ServerResponse, method: string): ResponseWriter {
  return {
    complete: (response, body) => writeDirectly(res, method, response, body),
    head: (response) =>
      res.writeHead(
        response.status,
        response.cookies?.length ? { ...response.headers, 'Set-Cookie': [...response.cookies] } : response.headers,
      ),
  };
}
