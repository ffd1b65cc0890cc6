import { RegistryError } from '../errors.js';
import type { ByteRange } from '../storage.js';
import type { PageOptions } from '../registry.js';

/**
 * Parses a `Range: bytes=start-end` request header (RFC 9110) for one range. Returns undefined
 * when the header is absent or not a single byte range (then the whole blob is served, as the
 * RFC allows). Suffix ranges (`bytes=-N`) need the size, so they are resolved by the caller.
 */
export function parseRangeHeader(header: string | undefined): { start?: number; end?: number; suffix?: number } | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, from, to] = match;
  if (from === '' && to === '') return undefined;
  if (from === '') return { suffix: safeInt(to!) };
  const start = safeInt(from!);
  return to === '' ? { start } : { start, end: safeInt(to!) };
}

/** Resolves a parsed Range against the blob size into an inclusive range. */
export function resolveRange(parsed: ReturnType<typeof parseRangeHeader>, size: number): ByteRange | undefined {
  if (!parsed) return undefined;
  if (parsed.suffix !== undefined) {
    if (parsed.suffix === 0) return { start: size, end: size }; // unsatisfiable
    return { start: Math.max(size - parsed.suffix, 0), end: size - 1 };
  }
  const start = parsed.start ?? 0;
  return { start, end: parsed.end ?? Number.MAX_SAFE_INTEGER };
}

/** Parses an upload chunk's `Content-Range: start-end` (the spec's form, inclusive). */
export function parseContentRange(header: string | undefined): ByteRange | undefined {
  if (header === undefined) return undefined;
  // The spec's form is `start-end`; older clients send `bytes start-end` or `bytes=start-end[/total]`.
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', 'malformed Content-Range: expected start-end', { status: 416 });
  }
  return { start: safeInt(match[1]!), end: safeInt(match[2]!) };
}

export function parseContentLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  if (!/^\d+$/.test(header.trim())) throw new RegistryError('SIZE_INVALID', 'malformed Content-Length');
  const value = Number(header.trim());
  if (!Number.isSafeInteger(value)) throw new RegistryError('SIZE_INVALID', 'Content-Length out of range');
  return value;
}

/** `n` and `last` of the tags list and catalog. */
export function parsePageQuery(query: URLSearchParams, maxPage: number): PageOptions {
  const page: PageOptions = {};
  const n = query.get('n');
  if (n !== null && n !== '') {
    if (!/^\d+$/.test(n)) throw new RegistryError('UNSUPPORTED', 'n must be a non-negative integer', { status: 400 });
    // Any larger n means "everything up to the page limit" (no 416 for a huge number).
    page.n = Math.min(Number(n), maxPage);
  }
  const last = query.get('last');
  if (last !== null && last !== '') page.last = last;
  return page;
}

/** RFC 5988 `Link` header for the next page. */
export function nextLink(path: string, n: number | undefined, next: string | undefined): string | undefined {
  if (next === undefined) return undefined;
  const params = new URLSearchParams();
  if (n !== undefined) params.set('n', String(n));
  params.set('last', next);
  return `<${path}?${params.toString()}>; rel="next"`;
}

function safeInt(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RegistryError('SIZE_INVALID', 'number out of range', { status: 416 });
  return value;
}
