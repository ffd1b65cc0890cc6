import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError, registryErrorResponse, type RegistryHandler } from '@zotjs/core';
import { exchangeServer, nodeWriter, type Exchange, type ExchangeOptions } from './exchange.js';

/**
 * A plain node `request` listener serving every path with the core handler, for a server of its
 * own (what `createServer` uses): the same work as `registryMiddleware` with `respondDirectly`,
 * without building a Koa context per request. Unknown paths get the core's JSON 404.
 */
export function createRequestListener(
  handler: RegistryHandler,
  options: ExchangeOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const serve = exchangeServer(handler, options);
  const { logger } = options;
  return (req, res) => {
    const method = req.method ?? 'GET';
    const { path, querystring } = splitTarget(req.url ?? '/');
    const exchange: Exchange = { req, res, method, path, querystring, remoteAddress: req.socket.remoteAddress };
    serve(exchange, nodeWriter(res, method)).catch((err: unknown) => {
      // The core answers its own failures; this is a bug below it. Never a stack trace to the client.
      logger?.error({ err, method, path: path.slice(0, 512) }, 'unhandled error');
      if (res.headersSent) res.destroy();
      else {
        const answer = registryErrorResponse(new RegistryError('INTERNAL_ERROR', 'internal error'), method);
        nodeWriter(res, method).complete(answer, answer.body as Uint8Array | undefined);
      }
    });
  };
}

/**
 * Path and query of a request target as sent: origin form (`/v2/...?n=10`) normally, absolute
 * form (`http://host/v2/...`) from some proxies. The path stays percent-encoded, as Koa's does.
 */
export function splitTarget(target: string): { path: string; querystring: string } {
  if (target.charCodeAt(0) !== 47 /* / */) {
    try {
      const url = new URL(target);
      return { path: url.pathname, querystring: url.search.slice(1) };
    } catch {
      // `*` (OPTIONS *) or garbage: a path the core answers with its 404.
      return { path: target, querystring: '' };
    }
  }
  const q = target.indexOf('?');
  return q < 0 ? { path: target, querystring: '' } : { path: target.slice(0, q), querystring: target.slice(q + 1) };
}
