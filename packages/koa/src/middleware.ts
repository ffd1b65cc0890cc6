import {
  createRegistryHandler,
  templatePattern,
  type HandlerOptions,
  type Logger,
  type RegistryHandler,
  type RequestRecord,
} from '@zotjs/core';
import type { Context, Middleware, Next } from 'koa';
import { exchangeServer, nodeWriter, type Exchange, type ResponseWriter } from '@zotjs/server/adapter';
import { applyResponse } from './translate.js';

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
   * one for its paths. (Streamed bodies, blobs, are always written straight to node.)
   */
  respondDirectly?: boolean;
  /**
   * Run a young-generation garbage collection after every this many bytes of request body, so
   * the buffers node's HTTP parser copies each body segment into are freed while young (default
   * 0: never; measured in zot-ts's bench/README.md). Needs a process started with
   * `node --expose-gc`: without it `registryMiddleware` throws.
   */
  reclaimBodyBuffersEvery?: number;
}

/** Everything {@link createRegistryHandler} takes, plus the adapter's own options. */
export type RegistryMiddlewareOptions = HandlerOptions & Omit<AdapterOptions, 'logger'>;

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
  let options: AdapterOptions = adapter;
  let handles = adapter.handles;
  if (typeof handlerOrOptions === 'function') {
    handler = handlerOrOptions;
  } else {
    handler = createRegistryHandler(handlerOrOptions);
    options = handlerOrOptions;
    handles = handlerOrOptions.handles;
    if (!handles) {
      const extra = (handlerOrOptions.extraRoutes ?? []).map((r) => templatePattern(r.template));
      handles = (path) => isRegistryPath(path) || extra.some((pattern) => pattern.test(path));
    }
  }
  const shouldHandle = handles ?? isRegistryPath;
  const direct = options.respondDirectly ?? false;
  const serve = exchangeServer(handler, options);

  return async function zotRegistry(ctx: Context, next: Next): Promise<void> {
    if (!shouldHandle(ctx.path)) return next();
    const exchange: Exchange = {
      req: ctx.req,
      res: ctx.res,
      method: ctx.method,
      // ctx.path is the raw (not percent-decoded) pathname, relative to any mount prefix.
      path: ctx.path,
      querystring: ctx.querystring,
      remoteAddress: ctx.ip || ctx.req.socket.remoteAddress,
    };
    await serve(exchange, direct ? directWriter(ctx) : koaWriter(ctx), () => bodyAlreadyRead(ctx));
  };
}

/** Through ctx: Koa writes the response, and middleware around this one may still change it. */
function koaWriter(ctx: Context): ResponseWriter {
  return {
    complete: (response, body) => applyResponse(ctx, response, body),
    head(response, body) {
      applyResponse(ctx, response, body);
      ctx.respond = false; // the adapter writes the body itself
    },
  };
}

/** Straight to node's response; Koa is told to stay out of it. */
function directWriter(ctx: Context): ResponseWriter {
  const node = nodeWriter(ctx.res, ctx.method);
  return {
    complete(response, body) {
      ctx.respond = false;
      node.complete(response, body);
    },
    head(response, body) {
      ctx.respond = false;
      node.head(response, body);
    },
  };
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
