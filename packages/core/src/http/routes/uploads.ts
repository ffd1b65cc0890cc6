import { RegistryError } from '../../errors.js';
import { parseDigest } from '../../digest.js';
import { parseContentLength } from '../headers.js';
import type { RouteDefinition } from '../route.js';
import { blobCreated, chunkOptions, emptyBody, emptyStream, uploadHeaders } from './responses.js';

const startUpload: RouteDefinition = {
  method: 'POST',
  template: '/v2/{name}/blobs/uploads/',
  operationId: 'startUpload',
  summary: 'Start an upload session, push a blob in one request (?digest=), or mount one (?mount=&from=)',
  specId: 'end-4a',
  action: 'create',
  responses: {
    201: 'blob stored (monolithic) or mounted',
    202: 'upload session started',
    400: 'invalid name or digest',
    404: 'repository unknown',
  },
  query: {
    digest: 'digest of the body, for a single-request upload',
    mount: 'digest of a blob to mount',
    from: 'repository to mount from',
  },
  requestBody: { mediaType: 'application/octet-stream', description: 'the blob, with ?digest=' },
  async handle({ request, registry, params, outcome, mayAccess }) {
    const name = params.name!;
    const mount = request.query.get('mount');
    const from = request.query.get('from');
    if (mount !== null) {
      const digest = parseDigest(mount).value;
      if (from !== null && from !== '' && (await mayAccess(from, 'read')).valueOf()) {
        try {
          if (await registry.mountBlob(name, from, digest)) {
            outcome.digest = digest;
            return blobCreated(name, digest);
          }
        } catch (err) {
          // An invalid `from` is not mountable: fall back to a new session (spec end-11).
          if (!(err instanceof RegistryError && err.code === 'NAME_INVALID')) throw err;
        }
      }
    }
    const digest = request.query.get('digest');
    if (digest !== null && mount === null) {
      const body = request.body ?? emptyStream();
      const length = parseContentLength(request.headers['content-length']);
      const stored = await registry.pushBlob(name, digest, body, length);
      outcome.digest = stored.digest;
      return blobCreated(name, stored.digest);
    }
    const session = await registry.startUpload(name);
    return { status: 202, headers: uploadHeaders(name, session.uploadId, 0) };
  },
};

const getUploadStatus: RouteDefinition = {
  method: 'GET',
  template: '/v2/{name}/blobs/uploads/{uploadId}',
  operationId: 'getUploadStatus',
  summary: 'Progress of an upload session',
  specId: 'end-13',
  action: 'create',
  responses: { 204: 'session status in Range', 404: 'upload unknown' },
  async handle({ registry, params }) {
    const status = await registry.uploadStatus(params.name!, params.uploadId!);
    return { status: 204, headers: uploadHeaders(params.name!, status.uploadId, status.size) };
  },
};

const uploadChunk: RouteDefinition = {
  method: 'PATCH',
  template: '/v2/{name}/blobs/uploads/{uploadId}',
  operationId: 'uploadChunk',
  summary: 'Upload a chunk (with Content-Range) or stream data (without) into a session',
  specId: 'end-5',
  action: 'create',
  responses: { 202: 'chunk accepted', 404: 'upload unknown', 416: 'chunk out of order' },
  requestHeaders: { 'Content-Range': 'start-end of the chunk, inclusive' },
  requestBody: { mediaType: 'application/octet-stream', description: 'chunk data' },
  async handle({ request, registry, params }) {
    const options = chunkOptions(request);
    const status = await registry.appendChunk(params.name!, params.uploadId!, request.body ?? emptyStream(), options);
    return { status: 202, headers: uploadHeaders(params.name!, status.uploadId, status.size) };
  },
};

const completeUpload: RouteDefinition = {
  method: 'PUT',
  template: '/v2/{name}/blobs/uploads/{uploadId}',
  operationId: 'completeUpload',
  summary: 'Close an upload session (?digest=), optionally with a final chunk',
  specId: 'end-6',
  action: 'create',
  responses: { 201: 'blob stored', 400: 'digest mismatch or invalid', 404: 'upload unknown', 416: 'final chunk out of order' },
  query: { digest: 'digest of the whole blob' },
  requestBody: { mediaType: 'application/octet-stream', description: 'optional final chunk' },
  async handle({ request, registry, params, outcome }) {
    const digest = request.query.get('digest');
    if (digest === null || digest === '') throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required');
    const body = emptyBody(request);
    const options = body ? chunkOptions(request) : {};
    const stored = await registry.completeUpload(params.name!, params.uploadId!, digest, body, options);
    outcome.digest = stored.digest;
    return blobCreated(params.name!, stored.digest);
  },
};

const cancelUpload: RouteDefinition = {
  method: 'DELETE',
  template: '/v2/{name}/blobs/uploads/{uploadId}',
  operationId: 'cancelUpload',
  summary: 'Cancel an upload session',
  action: 'create',
  responses: { 204: 'cancelled', 404: 'upload unknown' },
  async handle({ registry, params }) {
    await registry.cancelUpload(params.name!, params.uploadId!);
    return { status: 204, headers: { 'Content-Length': '0' } };
  },
};

/** Blob uploads: sessions, chunks, single-request pushes and cross-repository mounts (spec end-4a to end-6, end-11, end-13). */
export const uploadRoutes: readonly RouteDefinition[] = [startUpload, getUploadStatus, uploadChunk, completeUpload, cancelUpload];
