import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createRegistryHandler, Registry, type RouteDefinition } from '@zotjs/core';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import Koa from 'koa';
import { pino } from 'pino';
import { createRequestListener } from '@zotjs/server';
import { registryMiddleware } from '../src/index.js';
import { send, sha256 } from './helpers/http.js';

async function listen(app: Koa): Promise<{ server: Server; url: string }> {
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function memoryLogger(): { logger: pino.Logger; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, sink), text: () => text };
}

const livez: RouteDefinition = {
  method: 'GET',
  template: '/livez',
  operationId: 'livez',
  summary: 'liveness',
  action: 'none',
  responses: { 200: 'alive' },
  async handle() {
    return {
      status: 200,
      headers: { 'Content-Type': 'text/plain', 'Content-Length': '2' },
      cookies: ['probe=1; SameSite=Strict', 'seen=yes'],
      body: Buffer.from('ok'),
    };
  },
};

describe('registryMiddleware inside an existing Koa app', () => {
  let root: string;
  let server: Server;
  let url: string;
  const seen: Array<{ path: string; status: number }> = [];
  const logs = memoryLogger();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'zot-koa-mw-'));
    const app = new Koa();
    // The app's own outer middleware sees the registry's status, as with any Koa route.
    app.use(async (ctx, next) => {
      await next();
      seen.push({ path: ctx.path, status: ctx.status });
    });
    app.use(
      registryMiddleware({
        registry: new Registry({ storage: new OciLayoutStorage({ rootDirectory: root }) }),
        logger: logs.logger,
        extraRoutes: [livez],
      }),
    );
    app.use(async (ctx, next) => {
      if (ctx.method === 'GET' && ctx.path === '/hello') {
        ctx.body = { hello: 'world' };
        return;
      }
      await next();
    });
    ({ server, url } = await listen(app));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  test('the app keeps its own routes and its 404s; the registry answers /v2 and its extra routes', async () => {
    const hello = await send(`${url}/hello`);
    assert.equal(hello.status, 200);
    assert.deepEqual(JSON.parse(hello.body.toString()), { hello: 'world' });
    assert.equal(hello.headers['docker-distribution-api-version'], undefined);

    const missing = await send(`${url}/elsewhere`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.toString(), 'Not Found', "Koa's own 404 for paths that are not the registry's");

    const base = await send(`${url}/v2/`);
    assert.equal(base.status, 200);
    assert.equal(base.headers['docker-distribution-api-version'], 'registry/2.0');

    const live = await send(`${url}/livez`);
    assert.equal(live.status, 200);
    assert.equal(live.body.toString(), 'ok');
    assert.deepEqual(live.headers['set-cookie'], ['probe=1; SameSite=Strict', 'seen=yes'], 'each cookie its own Set-Cookie line');

    const data = 'embedded blob';
    const push = await send(`${url}/v2/app/repo/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data });
    assert.equal(push.status, 201);
    const pull = await send(`${url}/v2/app/repo/blobs/${sha256(data)}`);
    assert.equal(pull.body.toString(), data);
    assert.ok(seen.some((s) => s.path === `/v2/app/repo/blobs/uploads/` && s.status === 201));
  });

  test('a wrapped core handler works the same (registryMiddleware(handler, { logger }))', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zot-koa-mw2-'));
    const { logger, text } = memoryLogger();
    const handler = createRegistryHandler({ registry: new Registry({ storage: new OciLayoutStorage({ rootDirectory: dir }) }) });
    const app = new Koa();
    app.use(registryMiddleware(handler, { logger }));
    const { server: s, url: u } = await listen(app);
    try {
      const res = await send(`${u}/v2/wrapped/repo/tags/list`);
      assert.equal(res.status, 404);
      assert.equal((JSON.parse(res.body.toString()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'NAME_UNKNOWN');
      await new Promise((r) => setTimeout(r, 20));
      assert.match(text(), /"route":"\/v2\/\{name\}\/tags\/list"/);
    } finally {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a body parser mounted before the registry is reported clearly instead of hanging', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zot-koa-mw3-'));
    const { logger, text } = memoryLogger();
    const app = new Koa();
    // What body parsers do: read the whole request and put the result on ctx.request.body.
    app.use(async (ctx, next) => {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      (ctx.request as { body?: unknown }).body = Buffer.concat(chunks);
      await next();
    });
    app.use(registryMiddleware({ registry: new Registry({ storage: new OciLayoutStorage({ rootDirectory: dir }) }), logger }));
    const { server: s, url: u } = await listen(app);
    try {
      const res = await send(`${u}/v2/parsed/repo/blobs/uploads/?digest=${sha256('x')}`, { method: 'POST', body: 'x' });
      assert.equal(res.status, 500);
      assert.equal((JSON.parse(res.body.toString()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'INTERNAL_ERROR');
      assert.match(text(), /mount registryMiddleware before any body parser/);
    } finally {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('respondDirectly and the plain node listener: the same answers as through Koa, minus its per-request work', () => {
  const root = mkdtempSync(join(tmpdir(), 'zot-koa-direct-'));
  const registry = new Registry({ storage: new OciLayoutStorage({ rootDirectory: root }) });
  const servers: Server[] = [];
  const urls: string[] = [];
  before(async () => {
    for (const respondDirectly of [false, true]) {
      const app = new Koa();
      app.use(registryMiddleware({ registry, respondDirectly }));
      const { server, url } = await listen(app);
      servers.push(server);
      urls.push(url);
    }
    // What createServer serves with: no Koa at all.
    const plain = createServer(createRequestListener(createRegistryHandler({ registry })));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    servers.push(plain);
    urls.push(`http://127.0.0.1:${(plain.address() as AddressInfo).port}`);
  });
  after(() => {
    for (const server of servers) server.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('status, headers and body agree for answers with and without bodies, errors included', async () => {
    const blob = Buffer.from('direct or through koa');
    const digest = sha256(blob);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest, size: blob.length },
        layers: [],
      }),
    );
    await send(`${urls[0]}/v2/direct/blobs/uploads/?digest=${digest}`, { method: 'POST', body: blob });
    const put = await send(`${urls[0]}/v2/direct/manifests/v1`, {
      method: 'PUT',
      body: manifest,
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(put.status, 201);
    const requests: Array<[string, string, Buffer?]> = [
      ['GET', '/v2/'],
      ['GET', '/v2/direct/manifests/v1'],
      ['HEAD', '/v2/direct/manifests/v1'],
      ['HEAD', `/v2/direct/blobs/${digest}`],
      ['GET', '/v2/direct/tags/list'],
      ['GET', '/v2/direct/manifests/nope'],
      ['HEAD', '/v2/direct/manifests/nope'],
      ['DELETE', '/v2/direct/blobs/uploads/not-a-session'],
      ['PATCH', '/v2/direct/manifests/v1'],
      ['GET', '/v2/Bad_Name/tags/list'],
    ];
    const comparable = (headers: Record<string, unknown>) => {
      const { date: _date, ...rest } = headers;
      return rest;
    };
    requests.push(['GET', `/v2/direct/blobs/${digest}`], ['GET', '/v2/direct/tags/list?n=1'], ['GET', '/nowhere']);
    for (const [method, path] of requests) {
      const [viaKoa, ...others] = await Promise.all(urls.map((url) => send(`${url}${path}`, { method })));
      for (const [i, other] of others.entries()) {
        const label = `${method} ${path} (${i === 0 ? 'respondDirectly' : 'node listener'})`;
        if (path === '/nowhere') {
          // Koa's own text 404 beside the registry middleware; alone, the core answers every path.
          if (i === 1) assert.equal(other!.status, 404, label);
          if (i === 1) assert.equal(other!.headers['content-type'], 'application/json', label);
          if (i === 1) assert.ok(JSON.parse(other!.body.toString()).errors.length > 0, label);
          continue;
        }
        assert.equal(other!.status, viaKoa!.status, label);
        assert.deepEqual(comparable(other!.headers), comparable(viaKoa!.headers), label);
        assert.deepEqual(other!.body, viaKoa!.body, label);
      }
    }
    // An upload session: 202 with a Location of its own on each side, same shape.
    const sessions = await Promise.all(urls.map((url) => send(`${url}/v2/direct/blobs/uploads/`, { method: 'POST' })));
    for (const session of sessions) {
      assert.equal(session.status, 202);
      assert.deepEqual(Object.keys(session.headers).sort(), Object.keys(sessions[0]!.headers).sort());
      assert.equal(session.headers['content-length'], '0');
    }
  });
});
