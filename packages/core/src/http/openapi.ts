import { ErrorCodes } from '../errors.js';
import { isManifestMediaType, MediaTypes } from '../media-types.js';
import type { HttpMethod, JsonSchema, RouteDefinition } from './routes.js';

/**
 * The OpenAPI 3 document of the registry, generated from the same route table the handler
 * dispatches on: a route cannot exist without being documented. Pure function, no I/O.
 */

export interface OpenApiOptions {
  title: string;
  version: string;
  description?: string;
  /** Documents HTTP basic authentication (the registry has auth on). */
  security?: 'basic';
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description: string;
  schema: JsonSchema;
}

export interface OpenApiMediaType {
  schema: JsonSchema;
}

export interface OpenApiResponse {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: Record<string, OpenApiMediaType>;
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: OpenApiParameter[];
  requestBody?: { description: string; required: boolean; content: Record<string, OpenApiMediaType> };
  responses: Record<string, OpenApiResponse>;
  /** `[]` for public routes; absent when the document has no security scheme. */
  security?: Array<Record<string, string[]>>;
}

export type OpenApiMethod = Lowercase<HttpMethod>;

export interface OpenApiDocument {
  openapi: '3.0.3';
  info: { title: string; version: string; description?: string };
  tags: Array<{ name: string; description?: string }>;
  paths: Record<string, Partial<Record<OpenApiMethod, OpenApiOperation>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes?: Record<string, { type: 'http'; scheme: 'basic'; description: string }>;
  };
}

const BASIC = 'basicAuth';
const DEFAULT_TAG = 'distribution';

const TAG_DESCRIPTIONS: Record<string, string> = {
  distribution: 'OCI distribution-spec v1.1 endpoints',
  health: 'Health probes (unauthenticated)',
  metrics: 'Prometheus metrics',
  documentation: 'This document and its Swagger UI',
};

const MANIFEST_TYPES = [MediaTypes.ociManifest, MediaTypes.ociIndex, MediaTypes.dockerManifest, MediaTypes.dockerManifestList];
const BINARY: JsonSchema = { type: 'string', format: 'binary' };
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

const SCHEMAS: Record<string, JsonSchema> = {
  ErrorBody: {
    type: 'object',
    description: 'The distribution spec error body',
    required: ['errors'],
    properties: {
      errors: {
        type: 'array',
        items: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string', enum: Object.keys(ErrorCodes) },
            message: { type: 'string' },
            detail: { description: 'code-specific details' },
          },
        },
      },
    },
  },
  Descriptor: {
    type: 'object',
    required: ['mediaType', 'digest', 'size'],
    properties: {
      mediaType: { type: 'string' },
      digest: { type: 'string' },
      size: { type: 'integer', format: 'int64' },
      artifactType: { type: 'string' },
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
  ImageIndex: {
    type: 'object',
    required: ['schemaVersion', 'manifests'],
    properties: {
      schemaVersion: { type: 'integer', enum: [2] },
      mediaType: { type: 'string' },
      manifests: { type: 'array', items: ref('Descriptor') },
    },
  },
  Manifest: {
    type: 'object',
    description: 'An image manifest or image index (OCI or Docker v2), stored and served byte-for-byte',
    required: ['schemaVersion'],
    properties: {
      schemaVersion: { type: 'integer', enum: [2] },
      mediaType: { type: 'string' },
      artifactType: { type: 'string' },
      config: ref('Descriptor'),
      layers: { type: 'array', items: ref('Descriptor') },
      manifests: { type: 'array', items: ref('Descriptor') },
      subject: ref('Descriptor'),
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
  RepositoryList: {
    type: 'object',
    required: ['repositories'],
    properties: { repositories: { type: 'array', items: { type: 'string' } } },
  },
  TagList: {
    type: 'object',
    required: ['name', 'tags'],
    properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
  },
};

/** Success bodies of the registry routes core defines (extra routes declare `responseBody`). */
const CORE_BODIES: Record<string, NonNullable<RouteDefinition['responseBody']>> = {
  checkVersion: { mediaTypes: ['application/json'], schema: { type: 'object' } },
  listRepositories: { mediaTypes: ['application/json'], schema: ref('RepositoryList') },
  listTags: { mediaTypes: ['application/json'], schema: ref('TagList') },
  listReferrers: { mediaTypes: [MediaTypes.ociIndex], schema: ref('ImageIndex') },
  getManifest: { mediaTypes: MANIFEST_TYPES, schema: ref('Manifest') },
  getBlob: { mediaTypes: ['application/octet-stream'], schema: BINARY },
};

const DIGEST_HEADER = { description: 'digest of the content', schema: { type: 'string' } };
const LOCATION_HEADER = { description: 'where the content or the upload session is', schema: { type: 'string' } };
const RANGE_HEADER = { description: 'bytes received so far (0-end, inclusive)', schema: { type: 'string' } };
const LINK_HEADER = { description: 'next page (RFC 5988), when there is one', schema: { type: 'string' } };

/** Response headers worth documenting, by status class of each kind of route. */
function responseHeaders(route: RouteDefinition, status: number): OpenApiResponse['headers'] | undefined {
  if (status >= 300) return undefined;
  const t = route.template;
  if (t.includes('/blobs/uploads/')) {
    return status === 201
      ? { Location: LOCATION_HEADER, 'Docker-Content-Digest': DIGEST_HEADER }
      : {
          Location: LOCATION_HEADER,
          Range: RANGE_HEADER,
          'Docker-Upload-UUID': { description: 'upload session id', schema: { type: 'string' } },
        };
  }
  if (t.includes('/manifests/') || t.includes('/blobs/')) {
    if (status === 202) return undefined;
    return status === 201
      ? { Location: LOCATION_HEADER, 'Docker-Content-Digest': DIGEST_HEADER }
      : { 'Docker-Content-Digest': DIGEST_HEADER };
  }
  if (route.query && 'n' in route.query) return { Link: LINK_HEADER };
  return undefined;
}

const PATH_PARAMETERS: Record<string, { description: string; schema: JsonSchema }> = {
  name: {
    description: 'Repository name; may contain `/` (Swagger UI escapes it: use a client for nested names)',
    schema: { type: 'string', pattern: '^[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*$' },
  },
  reference: { description: 'A tag or a digest', schema: { type: 'string' } },
  digest: {
    description: 'A digest, e.g. `sha256:<64 hex>`',
    schema: { type: 'string', pattern: '^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$' },
  },
  uploadId: { description: 'The upload session id from the `Location` header', schema: { type: 'string' } },
  file: { description: 'File name of a static asset', schema: { type: 'string' } },
};

// OpenAPI 3 forbids describing these as header parameters (content negotiation and security cover them).
const RESERVED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

export function buildOpenApiDocument(routes: readonly RouteDefinition[], options: OpenApiOptions): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const tags: string[] = [];
  for (const route of routes) {
    const method = route.method.toLowerCase() as OpenApiMethod;
    const item = (paths[route.template] ??= {});
    if (item[method]) throw new Error(`two routes for ${route.method} ${route.template}`);
    item[method] = operation(route, options);
    const tag = route.tag ?? DEFAULT_TAG;
    if (!tags.includes(tag)) tags.push(tag);
  }
  const doc: OpenApiDocument = {
    openapi: '3.0.3',
    info: { title: options.title, version: options.version, ...(options.description ? { description: options.description } : {}) },
    tags: tags.map((name) => (TAG_DESCRIPTIONS[name] ? { name, description: TAG_DESCRIPTIONS[name] } : { name })),
    paths,
    components: { schemas: SCHEMAS },
  };
  if (options.security === 'basic') {
    doc.components.securitySchemes = { [BASIC]: { type: 'http', scheme: 'basic', description: 'htpasswd or LDAP user' } };
  }
  return doc;
}

function operation(route: RouteDefinition, options: OpenApiOptions): OpenApiOperation {
  const op: OpenApiOperation = {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag ?? DEFAULT_TAG],
    responses: {},
  };
  const notes: string[] = [];
  if (route.specId) notes.push(`Distribution spec endpoint \`${route.specId}\`.`);
  const accept = route.requestHeaders?.['Accept'];
  if (accept) notes.push(`Send \`Accept\`: ${accept}.`);
  if (notes.length > 0) op.description = notes.join(' ');

  const parameters = [...pathParameters(route), ...queryParameters(route), ...headerParameters(route)];
  if (parameters.length > 0) op.parameters = parameters;
  if (route.requestBody) {
    const types = isManifestMediaType(route.requestBody.mediaType) ? MANIFEST_TYPES : [route.requestBody.mediaType];
    const schema = isManifestMediaType(route.requestBody.mediaType) ? ref('Manifest') : BINARY;
    op.requestBody = {
      description: route.requestBody.description,
      required: isManifestMediaType(route.requestBody.mediaType),
      content: Object.fromEntries(types.map((type) => [type, { schema }])),
    };
  }

  const secured = options.security === 'basic' && !route.public;
  const statuses: Record<number, string> = { ...route.responses };
  if (secured) {
    statuses[401] ??= 'authentication required, or wrong credentials';
    if (route.action !== 'none') statuses[403] ??= 'access denied';
  }
  for (const [code, description] of Object.entries(statuses)) {
    op.responses[code] = response(route, Number(code), description);
  }
  op.responses['default'] = response(route, 500, 'error (the spec error body)');
  if (options.security === 'basic') op.security = route.public ? [] : [{ [BASIC]: [] }, {}];
  return op;
}

function response(route: RouteDefinition, status: number, description: string): OpenApiResponse {
  const out: OpenApiResponse = { description };
  const headers = responseHeaders(route, status);
  if (headers) out.headers = headers;
  if (route.method === 'HEAD') return out;
  if (status >= 400) {
    out.content = { 'application/json': { schema: ref('ErrorBody') } };
  } else if (status === 200 || status === 206) {
    const body = route.responseBody ?? CORE_BODIES[route.operationId];
    if (body) out.content = Object.fromEntries(body.mediaTypes.map((type) => [type, { schema: body.schema ?? BINARY }]));
  }
  return out;
}

function pathParameters(route: RouteDefinition): OpenApiParameter[] {
  return [...route.template.matchAll(/\{(\w+)\}/g)].map(([, name]) => {
    const known = PATH_PARAMETERS[name!];
    return {
      name: name!,
      in: 'path',
      required: true,
      description: known?.description ?? name!,
      schema: known?.schema ?? { type: 'string' },
    };
  });
}

function queryParameters(route: RouteDefinition): OpenApiParameter[] {
  return Object.entries(route.query ?? {}).map(([name, description]) => ({
    name,
    in: 'query',
    required: false,
    description,
    schema: name === 'n' ? { type: 'integer', minimum: 0 } : { type: 'string' },
  }));
}

function headerParameters(route: RouteDefinition): OpenApiParameter[] {
  return Object.entries(route.requestHeaders ?? {})
    .filter(([name]) => !RESERVED_HEADERS.has(name.toLowerCase()))
    .map(([name, description]) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } }));
}
