import { Readable } from 'node:stream';
import { parseContentLength, parseContentRange } from '../headers.js';
import type { EventActor } from '../../events.js';
import type { RegistryRequest, RegistryResponse, RequestOutcome } from '../types.js';

/** Response headers and bodies, and request-body helpers, that the route groups share. */

export const manifestHeaders = (m: { digest: string; mediaType: string; size: number }): Record<string, string> => ({
  'Content-Type': m.mediaType,
  'Content-Length': String(m.size),
  'Docker-Content-Digest': m.digest,
  ETag: `"${m.digest}"`,
});

export function uploadHeaders(name: string, uploadId: string, size: number): Record<string, string> {
  return {
    Location: `/v2/${name}/blobs/uploads/${uploadId}`,
    Range: `0-${Math.max(size - 1, 0)}`,
    'Docker-Upload-UUID': uploadId,
    'Content-Length': '0',
  };
}

export function blobCreated(name: string, digest: string): RegistryResponse {
  return {
    status: 201,
    headers: { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' },
  };
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): RegistryResponse {
  const body = Buffer.from(JSON.stringify(value));
  return {
    status,
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length), ...headers },
    body,
  };
}

function hasBody(request: RegistryRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return length.trim() !== '0';
  return request.headers['transfer-encoding'] !== undefined && request.body !== undefined;
}

export function chunkOptions(request: RegistryRequest): { range?: { start: number; end: number }; length?: number } {
  const range = parseContentRange(request.headers['content-range']);
  const length = parseContentLength(request.headers['content-length']);
  return { ...(range ? { range } : {}), ...(length !== undefined ? { length } : {}) };
}

export const emptyBody = (request: RegistryRequest): Readable | undefined => (hasBody(request) ? request.body : undefined);

export function blobHeaders(digest: string, length: number): Record<string, string> {
  return {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(length),
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    'Cache-Control': 'max-age=31536000',
  };
}

export function emptyStream(): Readable {
  return Readable.from([]);
}

/** Who made the request, for the events its change announces. */
export function actorOf(request: RegistryRequest, outcome: RequestOutcome): EventActor {
  return { identity: outcome.identity, remoteAddress: request.remoteAddress };
}
