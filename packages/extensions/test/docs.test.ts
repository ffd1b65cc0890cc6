import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import yaml from 'js-yaml';
import { registryRoutes, type Authenticator, type OpenApiDocument, type RouteDefinition } from '@zotjs/core';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import { createExtensions, type Extensions } from '../src/index.js';
import { harness, send, type Harness } from './support/registry.js';

/** Rejects every credential and demands them everywhere: public routes must not care. */
const strictAuth: Authenticator = {
  async authenticate(request) {
    return request.headers['authorization'] ? { kind: 'rejected', reason: 'test' } : { kind: 'anonymous' };
  },
  challenge: () => 'Basic realm="test"',
};

function documentedOperations(doc: OpenApiDocument): Map<string, string> {
  const found = new Map<string, string>();
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) found.set(`${method.toUpperCase()} ${template}`, op!.operationId);
  }
  return found;
}

describe('OpenAPI document and Swagger UI served by the registry', () => {
  let h: Harness;
  let ext: Extensions;
  let dispatched: readonly RouteDefinition[];

  before(async () => {
    const { root, storage } = await harness();
    ext = createExtensions({ storage, version: '9.9.9', metrics: { enable: true }, basicAuth: true });
    // Exactly what the handler dispatches on: the extra routes first, then the registry API.
    dispatched = [...ext.routes, ...registryRoutes];
    h = await harness({ root, extraRoutes: ext.routes, authenticator: strictAuth });
  });
  after(async () => {
    ext.close();
    await h.cleanup();
  });

  it('documents every dispatched route, and nothing else', async () => {
    const res = await send(h.handler, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.headers['Content-Type'], 'application/json');
    const doc = JSON.parse(res.body.toString()) as OpenApiDocument;
    const documented = documentedOperations(doc);
    for (const route of dispatched) {
      assert.equal(
        documented.get(`${route.method} ${route.template}`),
        route.operationId,
        `${route.method} ${route.template} undocumented`,
      );
    }
    const routed = new Set(dispatched.map((r) => `${r.method} ${r.template}`));
    for (const key of documented.keys()) assert.ok(routed.has(key), `${key} is documented but not routed`);
    assert.equal(documented.size, dispatched.length);
    for (const key of [
      'GET /livez',
      'GET /readyz',
      'GET /startupz',
      'GET /metrics',
      'GET /v2/_catalog',
      'GET /v2/{name}/referrers/{digest}',
      'GET /swagger/',
    ]) {
      assert.ok(documented.has(key), key);
    }
    assert.equal(doc.info.version, '9.9.9');
    assert.deepEqual(doc.paths['/livez']!.get!.security, []);
    assert.deepEqual(doc.paths['/metrics']!.get!.security, [{ basicAuth: [] }, {}]);
    assert.ok(doc.components.securitySchemes?.['basicAuth']);
  });

  it('is a valid OpenAPI 3.0 document (official schema), and the YAML says the same', async () => {
    const json = JSON.parse((await send(h.handler, 'GET', '/openapi.json')).body.toString()) as Record<string, unknown>;
    const validator = new Validator();
    const result = await validator.validate(json);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, '3.0');
    const yamlRes = await send(h.handler, 'GET', '/openapi.yaml');
    assert.equal(yamlRes.status, 200);
    assert.match(yamlRes.headers['Content-Type']!, /^application\/yaml/);
    assert.deepEqual(yaml.load(yamlRes.body.toString()), json);
  });

  it('serves Swagger UI from this origin only, pointed at our document, without the external validator', async () => {
    for (const [page, documentUrl] of [
      ['/swagger/', '../openapi.json'],
      ['/swagger/v2/', '../../openapi.json'],
    ] as const) {
      const res = await send(h.handler, 'GET', page);
      assert.equal(res.status, 200, page);
      assert.match(res.headers['Content-Type']!, /^text\/html/);
      const html = res.body.toString();
      assert.match(html, /swagger-ui-bundle\.js/);
      assert.doesNotMatch(html, /(?:src|href)="(?:https?:)?\/\//, 'an asset from another host');
      assert.match(res.headers['Content-Security-Policy']!, /default-src 'self'/);
      const init = await send(h.handler, 'GET', `${page}swagger-initializer.js`);
      assert.equal(init.status, 200);
      assert.ok(init.body.toString().includes(`url: ${JSON.stringify(documentUrl)}`), init.body.toString());
      assert.match(init.body.toString(), /validatorUrl: null/);
      assert.doesNotMatch(init.body.toString(), /petstore/);
    }
    const bundle = await send(h.handler, 'GET', '/swagger/swagger-ui-bundle.js');
    assert.equal(bundle.status, 200);
    assert.equal(Number(bundle.headers['Content-Length']), bundle.body.length);
    assert.ok(bundle.body.length > 100_000);
    assert.equal((await send(h.handler, 'GET', '/swagger/v2/swagger-ui.css')).status, 200);
    const zotDoc = await send(h.handler, 'GET', '/swagger/v2/doc.json');
    assert.equal(JSON.parse(zotDoc.body.toString()).openapi, '3.0.3');
  });

  it('redirects the folder names without a slash, and refuses anything outside the allow-list', async () => {
    const r1 = await send(h.handler, 'GET', '/swagger');
    assert.deepEqual([r1.status, r1.headers['Location']], [301, 'swagger/']);
    const r2 = await send(h.handler, 'GET', '/swagger/v2');
    assert.deepEqual([r2.status, r2.headers['Location']], [301, 'v2/']);
    for (const path of [
      '/swagger/package.json',
      '/swagger/..%2Fpackage.json',
      '/swagger/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/swagger/swagger-ui.js.map',
    ]) {
      const res = await send(h.handler, 'GET', path);
      assert.equal(res.status, 404, path);
      assert.equal(JSON.parse(res.body.toString()).errors[0].code, 'NAME_UNKNOWN');
    }
  });

  it('answers public routes even when the credentials sent are wrong', async () => {
    const wrong = { authorization: 'Basic d3Jvbmc6d3Jvbmc=' };
    assert.equal((await send(h.handler, 'GET', '/swagger/', { headers: wrong })).status, 200);
    assert.equal((await send(h.handler, 'GET', '/openapi.json', { headers: wrong })).status, 200);
    assert.equal((await send(h.handler, 'GET', '/v2/_catalog', { headers: wrong })).status, 401);
  });
});

describe('http.swagger: false', () => {
  it('serves neither the document nor the UI, and keeps health and the API', async () => {
    const h = await harness();
    const ext = createExtensions({ storage: h.storage, version: '1', swagger: false });
    const h2 = await harness({ root: h.root, extraRoutes: ext.routes });
    try {
      for (const path of ['/openapi.json', '/openapi.yaml', '/swagger/', '/swagger/v2/']) {
        assert.equal((await send(h2.handler, 'GET', path)).status, 404, path);
      }
      assert.equal((await send(h2.handler, 'GET', '/livez')).status, 200);
      assert.equal((await send(h2.handler, 'GET', '/v2/')).status, 200);
      assert.ok(!ext.routes.some((r) => r.tag === 'documentation'));
    } finally {
      ext.close();
      await h.cleanup();
    }
  });

  it('documents other extra routes it is told about (auth endpoints, ...)', async () => {
    const h = await harness();
    const other: RouteDefinition = {
      method: 'GET',
      template: '/auth/token',
      operationId: 'getToken',
      summary: 'token',
      action: 'none',
      tag: 'auth',
      responses: { 200: 'token' },
      async handle() {
        return { status: 200, headers: {} };
      },
    };
    const ext = createExtensions({ storage: h.storage, version: '1', otherRoutes: () => [other] });
    const h2 = await harness({ root: h.root, extraRoutes: [...ext.routes, other] });
    try {
      const doc = JSON.parse((await send(h2.handler, 'GET', '/openapi.json')).body.toString()) as OpenApiDocument;
      assert.equal(doc.paths['/auth/token']?.get?.operationId, 'getToken');
    } finally {
      ext.close();
      await h.cleanup();
    }
  });

  it('refuses a metrics path that is not a plain path outside /v2/, or that another route has', () => {
    const nowhere = new OciLayoutStorage({ rootDirectory: '/nonexistent' });
    for (const path of ['metrics', '/v2/metrics', '/a/{b}', '/a b', '/livez']) {
      assert.throws(() => createExtensions({ storage: nowhere, version: '1', metrics: { path } }), /path|two routes/, path);
    }
    const ext = createExtensions({ storage: nowhere, version: '1', metrics: { path: '/ops/prometheus' } });
    assert.ok(ext.routes.some((r) => r.template === '/ops/prometheus' && r.operationId === 'getMetrics'));
    const off = createExtensions({ storage: nowhere, version: '1', metrics: { enable: false } });
    assert.ok(!off.routes.some((r) => r.operationId === 'getMetrics'));
    assert.ok(!createExtensions({ storage: nowhere, version: '1' }).routes.some((r) => r.operationId === 'getMetrics'));
  });
});
