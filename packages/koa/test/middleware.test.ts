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
import { registryMiddleware } from '../src/index.js';
import { send, sha256 } from './helpers/harness.js';

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
    return { status: 200, headers: { 'Content-Type': 'text/plain', 'Content-Length': '2' }, body: Buffer.from('ok') };
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
