import { Readable } from 'node:stream';
import type { Action } from '../auth.js';
import { RegistryError } from '../errors.js';
import { parseDigest } from '../digest.js';
import { MediaTypes } from '../media-types.js';
import type { Registry } from '../registry.js';
import { readAll, BodyTooLargeError } from '../util/streams.js';
import {
  nextLink,
  parseContentLength,
  parseContentRange,
  parsePageQuery,
  parseRangeHeader,
  resolveRange,
} from './headers.js';
import type { RegistryRequest, RegistryResponse, RequestOutcome } from './types.js';

/** What a route handler gets. */
export interface RouteContext {
  request: RegistryRequest;
  registry: Registry;
  /** Path parameters, percent-decoded where the grammar allows it (references). */
  params: { name?: string; reference?: string; digest?: string; uploadId?: string; file?: string };
  outcome: RequestOutcome;
  /** Access check for a second repository (the `from` of a mount, each repository of the catalog). */
  mayAccess(repository: string, action: Action): Promise<boolean>;
  maxPageSize: number;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One route of the registry API. The table below is the single source of truth: the handler
 * dispatches on it and the OpenAPI document is generated from it.
 */
export interface RouteDefinition {
  method: HttpMethod;
  /** OpenAPI-style template, e.g. `/v2/{name}/manifests/{reference}`. */
  template: string;
  operationId: string;
  summary: string;
  /** The distribution-spec endpoint id (`end-3`), where there is one. */
  specId?: string;
  /** What access-control action the route needs on `{name}`; `none` for the base and catalog routes. */
  action: Action | 'none';
  /**
   * The action this request really needs, when it depends on the registry's state; `action`
   * otherwise. Pushing over an existing tag needs `update` rather than `create`, as in zot.
   */
  resolveAction?(ctx: Pick<RouteContext, 'registry' | 'params'>): Promise<Action>;
  /** Success and failure statuses the route answers with (documented in OpenAPI). */
  responses: Record<number, string>;
  /** Query parameters the route reads. */
  query?: Record<string, string>;
  /** Headers the route reads. */
  requestHeaders?: Record<string, string>;
  /** Whether the request has a body, and its media type. */
  requestBody?: { mediaType: string; description: string };
  /** Documentation: what a success answer carries, when the route is not a registry route core describes itself. */
  responseBody?: { mediaTypes: readonly string[]; schema?: JsonSchema };
  /** Documentation: the OpenAPI tag grouping the route (default `distribution`). */
  tag?: string;
  /** Served without authentication (health probes, documentation): credentials are not even checked. */
  public?: boolean;
  handle(ctx: RouteContext): Promise<RegistryResponse>;
}

/** A JSON Schema object, as embedded in the OpenAPI document. */
export type JsonSchema = { [keyword: string]: unknown };

const NAME = '(?<name>[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*)';
const SEGMENT = '[^/]+';

/** Compiles a template into a regular expression over the raw (undecoded) path. */
export function templatePattern(template: string): RegExp {
  const source = template
    .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace('{name}', NAME)
    .replace('{reference}', `(?<reference>${SEGMENT})`)
    .replace('{digest}', `(?<digest>${SEGMENT})`)
    .replace('{uploadId}', `(?<uploadId>${SEGMENT})`)
    // One path segment of a static asset (`/swagger/{file}`).
    .replace('{file}', `(?<file>${SEGMENT})`);
  return new RegExp(`^${source}$`);
}

const manifestHeaders = (m: { digest: string; mediaType: string; size: number }): Record<string, string> => ({
  'Content-Type': m.mediaType,
  'Content-Length': String(m.size),
  'Docker-Content-Digest': m.digest,
  ETag: `"${m.digest}"`,
});

function uploadHeaders(name: string, uploadId: string, size: number): Record<string, string> {
  return {
    Location: `/v2/${name}/blobs/uploads/${uploadId}`,
    Range: `0-${Math.max(size - 1, 0)}`,
    'Docker-Upload-UUID': uploadId,
    'Content-Length': '0',
  };
}

function blobCreated(name: string, digest: string): RegistryResponse {
  return {
    status: 201,
    headers: { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' },
  };
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): RegistryResponse {
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

function chunkOptions(request: RegistryRequest): { range?: { start: number; end: number }; length?: number } {
  const range = parseContentRange(request.headers['content-range']);
  const length = parseContentLength(request.headers['content-length']);
  return { ...(range ? { range } : {}), ...(length !== undefined ? { length } : {}) };
}

const emptyBody = (request: RegistryRequest): Readable | undefined => (hasBody(request) ? request.body : undefined);

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

function blobHeaders(digest: string, length: number): Record<string, string> {
  return {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(length),
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    'Cache-Control': 'max-age=31536000',
  };
}

const manifestGet = (method: 'GET' | 'HEAD'): RouteDefinition => ({
  method,
  template: '/v2/{name}/manifests/{reference}',
  operationId: method === 'GET' ? 'getManifest' : 'headManifest',
  summary: method === 'GET' ? 'Fetch a manifest by tag or digest' : 'Check that a manifest exists',
  specId: 'end-3',
  action: 'read',
  responses: { 200: 'the manifest', 400: 'invalid name or reference', 404: 'manifest or repository unknown' },
  requestHeaders: { Accept: 'manifest media types the client understands' },
  async handle({ registry, params }) {
    if (method === 'HEAD') {
      const stat = await registry.statManifest(params.name!, params.reference!);
      return { status: 200, headers: manifestHeaders(stat) };
    }
    const manifest = await registry.getManifest(params.name!, params.reference!);
    return { status: 200, headers: manifestHeaders(manifest), body: manifest.bytes };
  },
});

/** The registry API (distribution spec v1.1, end-1 to end-13, plus `_catalog`). */
export const registryRoutes: readonly RouteDefinition[] = [
  {
    method: 'GET',
    template: '/v2/',
    operationId: 'checkVersion',
    summary: 'Check that the registry implements the distribution spec',
    specId: 'end-1',
    action: 'none',
    responses: { 200: 'the registry implements the distribution spec', 401: 'authentication required' },
    async handle() {
      return json(200, {});
    },
  },
  {
    method: 'GET',
    template: '/v2/_catalog',
    operationId: 'listRepositories',
    summary: 'List the repositories the caller may read',
    action: 'none',
    responses: { 200: 'repository list', 400: 'invalid pagination parameters' },
    query: { n: 'maximum number of results', last: 'return results after this repository' },
    async handle({ request, registry, mayAccess, maxPageSize }) {
      const page = parsePageQuery(request.query, maxPageSize);
      const result = await registry.listRepositories(page, (repo) => mayAccess(repo, 'read'));
      const link = nextLink('/v2/_catalog', page.n, result.next);
      return json(200, { repositories: result.items }, link ? { Link: link } : {});
    },
  },
  blobGet('GET'),
  blobGet('HEAD'),
  {
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
  },
  manifestGet('GET'),
  manifestGet('HEAD'),
  {
    method: 'PUT',
    template: '/v2/{name}/manifests/{reference}',
    operationId: 'putManifest',
    summary: 'Push a manifest under a tag or its digest',
    specId: 'end-7',
    action: 'create',
    async resolveAction({ registry, params }) {
      const reference = params.reference!;
      // zot's rule: overwriting an existing tag is an update, except `latest`, which moves all the
      // time; digests are immutable, so pushing one only ever creates.
      if (reference.includes(':') || reference === 'latest') return 'create';
      try {
        await registry.statManifest(params.name!, reference);
        return 'update';
      } catch (err) {
        if (err instanceof RegistryError) return 'create'; // no such tag or repository (yet)
        throw err;
      }
    },
    responses: {
      201: 'stored',
      400: 'invalid manifest, name, tag or digest',
      404: 'repository unknown',
      413: 'manifest too large',
    },
    requestHeaders: { 'Content-Type': 'the manifest media type' },
    requestBody: { mediaType: MediaTypes.ociManifest, description: 'the manifest, stored byte-for-byte' },
    async handle({ request, registry, params, outcome }) {
      const name = params.name!;
      const declared = request.headers['content-length'];
      if (declared !== undefined && Number(declared) > registry.maxManifestBytes) {
        request.body?.resume();
        throw new RegistryError('SIZE_INVALID', `manifest exceeds the ${registry.maxManifestBytes}-byte limit`, { status: 413 });
      }
      let bytes: Buffer;
      try {
        bytes = request.body ? await readAll(request.body, registry.maxManifestBytes) : Buffer.alloc(0);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          throw new RegistryError('SIZE_INVALID', `manifest exceeds the ${registry.maxManifestBytes}-byte limit`, { status: 413 });
        }
        throw err;
      }
      const result = await registry.putManifest(name, params.reference!, bytes, request.headers['content-type']);
      outcome.digest = result.digest;
      const headers: Record<string, string> = {
        Location: `/v2/${name}/manifests/${result.digest}`,
        'Docker-Content-Digest': result.digest,
        'Content-Length': '0',
      };
      if (result.subject) headers['OCI-Subject'] = result.subject;
      return { status: 201, headers };
    },
  },
  {
    method: 'DELETE',
    template: '/v2/{name}/manifests/{reference}',
    operationId: 'deleteManifest',
    summary: 'Delete a tag, or a manifest by digest',
    specId: 'end-9',
    action: 'delete',
    responses: { 202: 'deleted', 400: 'invalid reference', 404: 'manifest unknown', 405: 'deletion disabled' },
    async handle({ registry, params }) {
      await registry.deleteManifest(params.name!, params.reference!);
      return { status: 202, headers: { 'Content-Length': '0' } };
    },
  },
  {
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
    query: { digest: 'digest of the body, for a single-request upload', mount: 'digest of a blob to mount', from: 'repository to mount from' },
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
  },
  {
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
  },
  {
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
  },
  {
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
  },
  {
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
  },
  {
    method: 'GET',
    template: '/v2/{name}/tags/list',
    operationId: 'listTags',
    summary: 'List tags, in lexical order, with n/last pagination',
    specId: 'end-8a',
    action: 'read',
    responses: { 200: 'tag list', 400: 'invalid name or pagination', 404: 'repository unknown' },
    query: { n: 'maximum number of tags', last: 'return tags after this one' },
    async handle({ request, registry, params, maxPageSize }) {
      const page = parsePageQuery(request.query, maxPageSize);
      const result = await registry.listTags(params.name!, page);
      const link = nextLink(`/v2/${params.name!}/tags/list`, page.n, result.next);
      return json(200, { name: params.name!, tags: result.items }, link ? { Link: link } : {});
    },
  },
  {
    method: 'GET',
    template: '/v2/{name}/referrers/{digest}',
    operationId: 'listReferrers',
    summary: 'List manifests whose subject is the digest (optionally filtered by artifactType)',
    specId: 'end-12a',
    action: 'read',
    responses: { 200: 'an image index of referrers', 400: 'invalid digest' },
    query: { artifactType: 'only referrers of this artifact type' },
    async handle({ request, registry, params }) {
      const artifactType = request.query.get('artifactType') ?? undefined;
      const manifests = await registry.listReferrers(params.name!, params.digest!, artifactType || undefined);
      const index = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
      const headers: Record<string, string> = { 'Content-Type': MediaTypes.ociIndex };
      if (artifactType) headers['OCI-Filters-Applied'] = 'artifactType';
      return json(200, index, headers);
    },
  },
];

function emptyStream(): Readable {
  return Readable.from([]);
}
