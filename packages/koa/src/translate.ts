import { Readable } from 'node:stream';
import type { RegistryRequest, RegistryResponse } from '@zotjs/core';
import { registryRequestOf } from '@zotjs/server/adapter';
import type { Context } from 'koa';

/**
 * The core's view of a Koa request. `abort` is the signal that tells storage the client went
 * away, or something that makes it on first use (the exchange's LazyAbort).
 */
export function toRegistryRequest(
  ctx: Context,
  body: Readable | undefined,
  abort: AbortSignal | { readonly signal: AbortSignal },
): RegistryRequest {
  return registryRequestOf(
    // ctx.path is the raw (not percent-decoded) pathname, relative to any mount prefix.
    {
      req: ctx.req,
      method: ctx.method,
      path: ctx.path,
      querystring: ctx.querystring,
      remoteAddress: ctx.ip || ctx.req.socket.remoteAddress,
    },
    body,
    abort,
  );
}

/**
 * Writes the core's response through Koa's ctx. Koa infers things from the body (a null body
 * means 204 and drops Content-Type/Length; a Buffer sets its own Content-Type), so the status
 * goes first, then the body, then the core's headers, which win.
 */
export function applyResponse(ctx: Context, response: RegistryResponse, body: Readable | Uint8Array | undefined): void {
  ctx.status = response.status;
  if (body instanceof Readable) {
    ctx.body = body;
  } else if (body !== undefined) {
    ctx.body = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  } else if (ctx.method !== 'HEAD') {
    // Without a body Koa would write the status text ("Created") as one.
    ctx.body = EMPTY;
  }
  const res = ctx.res;
  if (response.headers['Content-Type'] === undefined && ctx.method !== 'HEAD') res.removeHeader('Content-Type');
  // Straight to node (what ctx.set does for a string value, minus two layers of delegation).
  for (const name in response.headers) res.setHeader(name, response.headers[name]!);
  if (response.cookies?.length) res.setHeader('Set-Cookie', [...response.cookies]);
}

const EMPTY = Buffer.alloc(0);
