import { pipeline, Readable } from 'node:stream';
import {
  createRegistryHandler,
  isRecycling,
  RegistryError,
  templatePattern,
  type HandledResponse,
  type HandlerOptions,
  type Logger,
  type RegistryHandler,
  type RequestOutcome,
} from '@zotjs/core';
import type { Context, Middleware, Next } from 'koa';
import type { ServerResponse } from 'node:http';
import { BodyBufferReclaimer } from './body-buffer-reclaimer.js';
import { ByteCounter } from './counting.js';
import { pumpRecycling } from './recycling-pump.js';
import { applyResponse, toRegistryRequest, writeDirectly } from './translate.js';

export interface AdapterOptions {
  /** Where the one-line-per-request log goes (pino, or anything with its shape). None: no request log. */
  logger?: Logger;
  /**
   * Which paths this middleware answers; everything else goes to `next()`. Default: `/v2` and
   * below, plus the templates of `extraRoutes` when the middleware builds the handler itself.
   */
  handles?: (path: string) => boolean;
  /** Called once per request when the response is over, with the facts of the log line (metrics, audit). */
  onRequestEnd?: (record: RequestRecord) => void;
  /**
   * Write responses straight to node's response instead of through Koa's `ctx.body` (default
   * false). Cheaper per request, but middleware mounted around this one can no longer change
   * the status or headers after `await next()`: for apps where this middleware is the outermost
   * one for its paths, as in {@link createServer}.
   */
  respondDirectly?: boolean;
  /**
   * Run a young-generation garbage collection after every this many bytes of request body, so
   * the buffers node's HTTP parser copies each body segment into are freed while young (see
   * body-buffer-reclaimer.ts). Default 0 (never) here; {@link createServer} uses 8 MiB.
   */
  reclaimBodyBuffersEvery?: number;
}

/** A finished request: what the request log line says, for metrics and audit. */
export interface RequestRecord {
  method: string;
  /** The raw path (log it truncated; never a metric label: `outcome.route` is the template). */
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  outcome: RequestOutcome;
  remoteAddress?: string;
  /** The client went away before the response was complete. */
  aborted?: boolean;
}

/** Everything {@link createRegistryHandler} takes, plus the adapter's own options. */
export type RegistryMiddlewareOptions = HandlerOptions & Omit<AdapterOptions, 'logger'>;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export const isRegistryPath = (path: string): boolean => path === '/v2' || path.startsWith('/v2/');

/**
 * Koa middleware serving the registry API. Mount it before any body parser: blob bodies stream
 * straight from the socket to storage.
 *
 * `registryMiddleware(handler, { logger })` wraps an existing core handler;
 * `registryMiddleware({ registry, authenticator, logger, ... })` builds one.
 */
export function registryMiddleware(handler: RegistryHandler, adapter?: AdapterOptions): Middleware;
export function registryMiddleware(options: RegistryMiddlewareOptions): Middleware;
export function registryMiddleware(
  handlerOrOptions: RegistryHandler | RegistryMiddlewareOptions,
  adapter: AdapterOptions = {},
): Middleware {
  let handler: RegistryHandler;
  let handles = adapter.handles;
  let logger = adapter.logger;
  let onRequestEnd = adapter.onRequestEnd;
  let direct = adapter.respondDirectly ?? false;
  let reclaimEvery = adapter.reclaimBodyBuffersEvery ?? 0;
  if (typeof handlerOrOptions === 'function') {
    handler = handlerOrOptions;
  } else {
    handler = createRegistryHandler(handlerOrOptions);
    logger = handlerOrOptions.logger;
    onRequestEnd = handlerOrOptions.onRequestEnd;
    handles = handlerOrOptions.handles;
    direct = handlerOrOptions.respondDirectly ?? false;
    reclaimEvery = handlerOrOptions.reclaimBodyBuffersEvery ?? 0;
    if (!handles) {
      const extra = (handlerOrOptions.extraRoutes ?? []).map((r) => templatePattern(r.template));
      handles = (path) => isRegistryPath(path) || extra.some((pattern) => pattern.test(path));
    }
  }
  const shouldHandle = handles ?? isRegistryPath;
  const reclaimer = reclaimEvery > 0 ? new BodyBufferReclaimer(reclaimEvery) : undefined;

  return async function zotRegistry(ctx: Context, next: Next): Promise<void> {
    if (!shouldHandle(ctx.path)) return next();
    const started = process.hrtime.bigint();
    const { req, res } = ctx;

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
          const record = summarize(ctx, log);
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

    if (BODY_METHODS.has(ctx.method)) {
      if (bodyAlreadyRead(ctx)) {
        logger?.error({ method: ctx.method, path: ctx.path }, 'request body already consumed: mount registryMiddleware before any body parser');
        log.response = misconfigured(ctx.method);
        applyResponse(ctx, log.response, log.response.body);
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
      response = await handler(toRegistryRequest(ctx, log.inCounter, disconnect));
    } finally {
      handled();
    }
    log.response = response;
    const body = response.body;
    if (body instanceof Readable && isRecycling(body) && ctx.method !== 'HEAD') {
      applyResponse(ctx, response, body);
      // Written here instead of by Koa, so the body gets its buffers back (see recycling-pump.ts).
      ctx.respond = false;
      const counted = { bytes: 0 };
      log.outCounter = counted;
      pumpRecycling(body, res, counted);
      return;
    }
    if (body instanceof Readable) log.outCounter = countPiped(res, body);
    else if (direct) {
      writeDirectly(res, ctx.method, response, body);
      ctx.respond = false;
      return;
    }
    applyResponse(ctx, response, body);
  };
}

interface LogState {
  started: bigint;
  disconnect: LazyAbort;
  response?: HandledResponse;
  inCounter?: ByteCounter;
  outCounter?: { bytes: number };
}

/**
 * An AbortController made only when someone asks for its signal: most requests (manifest GETs,
 * HEADs) never do, and making one is a measurable part of such a request's cost.
 */
export class LazyAbort {
  aborted = false;
  private controller: AbortController | undefined;
  private reason: unknown;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * Counts the bytes of `body` once Koa pipes it into the response, by listening beside the pipe:
 * no extra stream in the path of a blob download. Listening earlier would start the flow early.
 */
function countPiped(res: ServerResponse, body: Readable): { bytes: number } {
  const counted = { bytes: 0 };
  const onPipe = (source: Readable): void => {
    if (source !== body) return;
    res.off('pipe', onPipe);
    source.on('data', (chunk: Buffer) => {
      counted.bytes += chunk.length;
    });
  };
  res.on('pipe', onPipe);
  return counted;
}

/** The facts of a finished request. */
function summarize(ctx: Context, state: LogState): RequestRecord {
  const { started, response, inCounter, outCounter, disconnect } = state;
  const fixedBody = response?.body && !(response.body instanceof Readable) ? response.body.byteLength : 0;
  const record: RequestRecord = {
    method: ctx.method,
    path: ctx.path,
    status: ctx.res.statusCode,
    bytesIn: inCounter?.bytes ?? 0,
    bytesOut: outCounter ? outCounter.bytes : ctx.method !== 'HEAD' && ctx.res.writableFinished ? fixedBody : 0,
    durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
    outcome: response?.outcome ?? {},
  };
  if (ctx.ip) record.remoteAddress = ctx.ip;
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

/**
 * True when something before us (a body parser) already read the request body: the stream would
 * never deliver it again and the registry would wait forever.
 */
function bodyAlreadyRead(ctx: Context): boolean {
  const parsed = (ctx.request as { body?: unknown }).body !== undefined;
  return parsed || (ctx.req.readableEnded && ctx.req.readableLength === 0 && hasDeclaredBody(ctx));
}

function hasDeclaredBody(ctx: Context): boolean {
  const length = ctx.get('content-length');
  return length !== '' ? length.trim() !== '0' : ctx.get('transfer-encoding') !== '';
}

function misconfigured(method: string): HandledResponse {
  const error = new RegistryError('INTERNAL_ERROR', 'the request body is not available to the registry');
  const bytes = Buffer.from(JSON.stringify(error.toBody()));
  return {
    status: error.status,
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': String(bytes.length),
      'Docker-Distribution-API-Version': 'registry/2.0',
    },
    ...(method === 'HEAD' ? {} : { body: bytes }),
    outcome: {},
  };
}
