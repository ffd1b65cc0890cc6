/**
 * Embedding the registry in an existing Koa app: the app keeps its own routes and middleware,
 * and `registryMiddleware` answers the OCI distribution API under /v2/ beside them.
 *
 *   pnpm build && node examples/dist/koa-embed.js --port 8080 --root /tmp/embedded-registry
 *   curl http://127.0.0.1:8080/hello
 *   skopeo copy oci:some-layout:tag docker://127.0.0.1:8080/demo/image:tag --dest-tls-verify=false
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Registry, type Logger } from '@zotjs/core';
import { registryMiddleware } from '@zotjs/koa';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import Koa from 'koa';

/** A logger with pino's shape, writing JSON lines (use pino itself in a real app). */
const jsonLogger: Logger = {
  debug: () => undefined,
  info: (obj, msg) => console.log(JSON.stringify({ level: 'info', ...obj, msg })),
  warn: (obj, msg) => console.log(JSON.stringify({ level: 'warn', ...obj, msg })),
  error: (obj, msg) => console.error(JSON.stringify({ level: 'error', ...obj, msg })),
};

export function createApp(options: { rootDirectory: string; logger?: Logger }): Koa {
  const app = new Koa();

  // The app's own middleware runs around everything, registry requests included.
  app.use(async (ctx, next) => {
    await next();
    ctx.set('X-Served-By', 'koa-embed-example');
  });

  // The registry. Mount it before any body parser: blobs stream straight to disk.
  const registry = new Registry({ storage: new OciLayoutStorage({ rootDirectory: options.rootDirectory }) });
  app.use(registryMiddleware({ registry, ...(options.logger ? { logger: options.logger } : {}) }));

  // The app's own routes: anything outside /v2 reaches them.
  app.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/hello') {
      ctx.body = { hello: 'world', registry: '/v2/' };
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/repositories') {
      // The same Registry object is a typed API for the app's own code.
      ctx.body = (await registry.listRepositories()).items;
      return;
    }
    await next();
  });
  return app;
}

export async function start(options: { port: number; address: string; rootDirectory: string }): Promise<{ server: Server; url: string }> {
  const app = createApp({ rootDirectory: options.rootDirectory, logger: jsonLogger });
  const server = createServer(app.callback());
  // Layer uploads can be long: no whole-request timeout.
  server.requestTimeout = 0;
  await new Promise<void>((ready) => server.listen(options.port, options.address, ready));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://${options.address}:${port}` };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      address: { type: 'string', default: '127.0.0.1' },
      root: { type: 'string', default: './embedded-registry' },
    },
  });
  const rootDirectory = resolve(values.root);
  const { server, url } = await start({ port: Number(values.port), address: values.address, rootDirectory });
  console.log(`koa-embed: listening on ${url} (app routes /hello and /repositories, registry under /v2/, storage ${rootDirectory})`);
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`koa-embed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
