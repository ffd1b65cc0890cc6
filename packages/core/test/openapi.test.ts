import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildOpenApiDocument,
  registryRoutes,
  templatePattern,
  type OpenApiDocument,
  type OpenApiMethod,
  type RouteDefinition,
} from '../src/index.js';

const health: RouteDefinition = {
  method: 'GET',
  template: '/livez',
  operationId: 'livez',
  summary: 'liveness',
  action: 'none',
  tag: 'health',
  public: true,
  responses: { 200: 'alive' },
  responseBody: { mediaTypes: ['application/json'], schema: { type: 'object' } },
  async handle() {
    return { status: 200, headers: {} };
  },
};

const asset: RouteDefinition = {
  method: 'GET',
  template: '/swagger/{file}',
  operationId: 'swaggerAsset',
  summary: 'asset',
  action: 'none',
  tag: 'documentation',
  public: true,
  responses: { 200: 'the file', 404: 'no such file' },
  async handle() {
    return { status: 200, headers: {} };
  },
};

/** Every (method, template) of the document, as `GET /v2/`, with its operationId. */
function operationsOf(doc: OpenApiDocument): Map<string, string> {
  const found = new Map<string, string>();
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) found.set(`${method.toUpperCase()} ${template}`, op!.operationId);
  }
  return found;
}

/** Walks the route table and the document both ways: any difference fails. */
function assertSameRoutes(routes: readonly RouteDefinition[], doc: OpenApiDocument): void {
  const documented = operationsOf(doc);
  const routed = new Map(routes.map((r) => [`${r.method} ${r.template}`, r.operationId]));
  for (const [key, operationId] of routed) assert.equal(documented.get(key), operationId, `route ${key} is not documented`);
  for (const [key, operationId] of documented) assert.equal(routed.get(key), operationId, `documented ${key} is not a route`);
  assert.equal(documented.size, routes.length);
}

function collectRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) collectRefs(v, out);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string') out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

describe('buildOpenApiDocument', () => {
  it('documents exactly the routes of the table, registry and extra', () => {
    const routes = [health, asset, ...registryRoutes];
    const doc = buildOpenApiDocument(routes, { title: 'zot-ts', version: '1.2.3' });
    assert.equal(doc.openapi, '3.0.3');
    assert.deepEqual(doc.info, { title: 'zot-ts', version: '1.2.3' });
    assertSameRoutes(routes, doc);
    // The distribution spec endpoints are all there.
    const specIds = new Set(registryRoutes.map((r) => r.specId).filter(Boolean));
    for (const id of ['end-1', 'end-2', 'end-3', 'end-4a', 'end-5', 'end-6', 'end-7', 'end-8a', 'end-9', 'end-10', 'end-12a', 'end-13']) {
      assert.ok(specIds.has(id), `${id} missing from the route table`);
    }
    assert.equal(doc.paths['/v2/_catalog']?.get?.operationId, 'listRepositories');
    assert.equal(doc.paths['/v2/{name}/referrers/{digest}']?.get?.operationId, 'listReferrers');
  });

  it('fails loudly on two routes for one method and path', () => {
    assert.throws(() => buildOpenApiDocument([health, { ...health, operationId: 'other' }], { title: 't', version: '1' }), /two routes/);
  });

  it('declares every path placeholder as a required path parameter, and query parameters', () => {
    const doc = buildOpenApiDocument(registryRoutes, { title: 't', version: '1' });
    for (const route of registryRoutes) {
      const op = doc.paths[route.template]![route.method.toLowerCase() as OpenApiMethod]!;
      const placeholders = [...route.template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
      assert.deepEqual(
        pathParams.map((p) => p.name),
        placeholders,
        route.operationId,
      );
      assert.ok(pathParams.every((p) => p.required));
      const queryParams = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      assert.deepEqual(queryParams, Object.keys(route.query ?? {}), route.operationId);
      // OpenAPI forbids Accept/Content-Type/Authorization as header parameters.
      for (const p of op.parameters ?? []) {
        if (p.in === 'header') assert.ok(!['accept', 'content-type', 'authorization'].includes(p.name.toLowerCase()));
      }
    }
    const listTags = doc.paths['/v2/{name}/tags/list']!.get!;
    assert.deepEqual(listTags.parameters!.find((p) => p.name === 'n')!.schema, { type: 'integer', minimum: 0 });
  });

  it('documents request bodies with their media types and errors with the spec error body', () => {
    const doc = buildOpenApiDocument(registryRoutes, { title: 't', version: '1' });
    const put = doc.paths['/v2/{name}/manifests/{reference}']!.put!;
    assert.equal(put.requestBody?.required, true);
    assert.deepEqual(Object.keys(put.requestBody!.content).sort(), [
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
    ]);
    assert.deepEqual(put.responses['201']!.headers!['Docker-Content-Digest']!.schema, { type: 'string' });
    const patch = doc.paths['/v2/{name}/blobs/uploads/{uploadId}']!.patch!;
    assert.deepEqual(patch.requestBody!.content['application/octet-stream'], { schema: { type: 'string', format: 'binary' } });
    const getBlob = doc.paths['/v2/{name}/blobs/{digest}']!.get!;
    assert.deepEqual(getBlob.responses['404']!.content, { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } });
    assert.ok(getBlob.responses['206']!.content!['application/octet-stream']);
    // HEAD answers never have a body.
    const headBlob = doc.paths['/v2/{name}/blobs/{digest}']!.head!;
    assert.ok(Object.values(headBlob.responses).every((r) => r.content === undefined));
    const catalog = doc.paths['/v2/_catalog']!.get!;
    assert.deepEqual(catalog.responses['200']!.content, {
      'application/json': { schema: { $ref: '#/components/schemas/RepositoryList' } },
    });
    assert.ok(catalog.responses['200']!.headers!['Link']);
    const errorCodes = (
      doc.components.schemas['ErrorBody'] as { properties: { errors: { items: { properties: { code: { enum: string[] } } } } } }
    ).properties.errors.items.properties.code.enum;
    assert.ok(errorCodes.includes('MANIFEST_UNKNOWN') && errorCodes.includes('BLOB_UPLOAD_UNKNOWN'));
    // Every $ref points at a schema that exists.
    for (const target of collectRefs(doc)) {
      const name = target.replace('#/components/schemas/', '');
      assert.ok(doc.components.schemas[name], `dangling ${target}`);
    }
  });

  it('documents basic auth when on, except on public routes', () => {
    const routes = [health, ...registryRoutes];
    const open = buildOpenApiDocument(routes, { title: 't', version: '1' });
    assert.equal(open.components.securitySchemes, undefined);
    assert.equal(open.paths['/v2/_catalog']!.get!.security, undefined);
    assert.equal(open.paths['/v2/_catalog']!.get!.responses['401'], undefined);

    const secured = buildOpenApiDocument(routes, { title: 't', version: '1', security: 'basic' });
    assert.deepEqual(secured.components.securitySchemes, {
      basicAuth: { type: 'http', scheme: 'basic', description: 'htpasswd or LDAP user' },
    });
    assert.deepEqual(secured.paths['/livez']!.get!.security, []);
    assert.equal(secured.paths['/livez']!.get!.responses['401'], undefined);
    const pull = secured.paths['/v2/{name}/manifests/{reference}']!.get!;
    assert.deepEqual(pull.security, [{ basicAuth: [] }, {}]);
    assert.ok(pull.responses['401'] && pull.responses['403']);
    assert.ok(secured.paths['/v2/_catalog']!.get!.responses['401']);
    assert.equal(secured.paths['/v2/_catalog']!.get!.responses['403'], undefined);
  });

  it('groups operations by tag, distribution by default', () => {
    const doc = buildOpenApiDocument([health, asset, ...registryRoutes], { title: 't', version: '1' });
    assert.deepEqual(
      doc.tags.map((t) => t.name),
      ['health', 'documentation', 'distribution'],
    );
    assert.deepEqual(doc.paths['/v2/']!.get!.tags, ['distribution']);
    assert.deepEqual(doc.paths['/livez']!.get!.responses['200']!.content, { 'application/json': { schema: { type: 'object' } } });
    // Serialisable as is.
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  });
});

describe('templatePattern {file}', () => {
  it('matches one path segment of a static asset', () => {
    const pattern = templatePattern('/swagger/{file}');
    assert.equal(pattern.exec('/swagger/swagger-ui.css')?.groups?.['file'], 'swagger-ui.css');
    assert.equal(pattern.exec('/swagger/a/b'), null);
    assert.equal(pattern.exec('/swagger/'), null);
  });
});
