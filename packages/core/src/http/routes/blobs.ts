import type { RouteDefinition } from '../route.js';
import { parseRangeHeader, resolveRange } from '../headers.js';
import { blobHeaders } from './responses.js';

const blobGet = (method: 'GET' | 'HEAD'): RouteDefinition => ({
  method,
  template: '/v2/{name}/blobs/{digest}',
  operationId: method === 'GET' ? 'getBlob' : 'headBlob',
  summary: method === 'GET' ? 'Fetch a blob (Range requests supported)' : 'Check that a blob exists',
  specId: 'end-2',
  action: 'read',
  responses:
    method === 'GET'
      ? {
          200: 'the blob',
          206: 'the requested range',
          307: 'fetch the blob from the URL in Location (storage with redirects on)',
          400: 'invalid name or digest',
          404: 'blob unknown',
          416: 'range not satisfiable',
        }
      : { 200: 'the blob exists', 400: 'invalid name or digest', 404: 'blob unknown' },
  ...(method === 'GET' ? { requestHeaders: { Range: 'bytes=start-end' } } : {}),
  async handle({ request, registry, params }) {
    const digest = params.digest!;
    if (method === 'HEAD') {
      const stat = await registry.statBlob(params.name!, digest);
      return { status: 200, headers: blobHeaders(stat.digest, stat.size) };
    }
    const wanted = parseRangeHeader(request.headers['range']);
    let range;
    let satisfiable = true;
    if (wanted) {
      const { size } = await registry.statBlob(params.name!, digest);
      range = resolveRange(wanted, size);
      satisfiable = !range || (range.start < size && range.start <= range.end);
    }
    // The storage may hand out a direct (presigned) URL; a client follows it with the same Range header.
    // An unsatisfiable range is answered here (416 with Content-Range), not by the store.
    const redirect = satisfiable ? await registry.blobRedirect(params.name!, digest) : undefined;
    if (redirect) {
      return { status: 307, headers: { Location: redirect.url, 'Docker-Content-Digest': redirect.digest, 'Content-Length': '0' } };
    }
    const blob = await registry.readBlob(params.name!, digest, range, request.signal);
    if (!blob.range) return { status: 200, headers: blobHeaders(blob.digest, blob.size), body: blob.stream };
    const { start, end } = blob.range;
    return {
      status: 206,
      headers: {
        ...blobHeaders(blob.digest, end - start + 1),
        'Content-Range': `bytes ${start}-${end}/${blob.size}`,
      },
      body: blob.stream,
    };
  },
});

const deleteBlob: RouteDefinition = {
  method: 'DELETE',
  template: '/v2/{name}/blobs/{digest}',
  operationId: 'deleteBlob',
  summary: 'Delete a blob',
  specId: 'end-10',
  action: 'delete',
  responses: { 202: 'deleted', 400: 'invalid name or digest', 404: 'blob unknown', 405: 'deletion disabled' },
  async handle({ registry, params }) {
    await registry.deleteBlob(params.name!, params.digest!);
    return { status: 202, headers: { 'Content-Length': '0' } };
  },
};

/** Blob reads (whole, ranged, or redirected to the store) and deletes (spec end-2, end-10). */
export const blobRoutes: readonly RouteDefinition[] = [blobGet('GET'), blobGet('HEAD'), deleteBlob];
