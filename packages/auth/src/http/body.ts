/**
 * Bounded request bodies for the auth endpoints (token requests, API-key creation) and the JSON
 * answers they give. A body over the limit is refused with 413 before more of it is read.
 */
import { RegistryError, type RegistryRequest, type RegistryResponse } from '@zotjs/core';

/** zot's limits: 64 KiB for a token request form, 8 KiB for an API-key request. */
export const MAX_FORM_BYTES = 64 * 1024;
export const MAX_JSON_BYTES = 8 * 1024;

export async function readBody(request: RegistryRequest, limit: number): Promise<Buffer> {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    request.body?.resume();
    throw tooLarge(limit);
  }
  if (!request.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) {
      request.body.resume();
      throw tooLarge(limit);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** An `application/x-www-form-urlencoded` body (OAuth2 token requests). */
export async function readForm(request: RegistryRequest, limit = MAX_FORM_BYTES): Promise<URLSearchParams> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    request.body?.resume();
    throw new RegistryError('UNSUPPORTED', 'the body must be application/x-www-form-urlencoded', { status: 415 });
  }
  return new URLSearchParams((await readBody(request, limit)).toString('utf8'));
}

/** A JSON body (any content type, as zot accepts `curl -d`); an empty body is `{}`. */
export async function readJson(request: RegistryRequest, limit = MAX_JSON_BYTES): Promise<unknown> {
  const text = (await readBody(request, limit)).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RegistryError('UNSUPPORTED', 'the body is not valid JSON', { status: 400 });
  }
}

export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): RegistryResponse {
  const body = Buffer.from(JSON.stringify(value));
  return { status, headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length), ...headers }, body };
}

/** Token endpoint answers must never be cached (RFC 6749 §5.1). */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

function tooLarge(limit: number): RegistryError {
  return new RegistryError('SIZE_INVALID', `the request body exceeds ${limit} bytes`, { status: 413 });
}
