/** The core handler behind node's plain HTTP server on loopback (for browser-driven tests). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createRegistryHandler, type HandlerOptions, type RegistryRequest } from '@zotjs/core';

export interface HttpRegistry {
  url: string;
  close(): Promise<void>;
}

/** `port` lets a test choose it beforehand (an OIDC client's redirect URI names it). */
export async function startHttpRegistry(options: HandlerOptions, port = 0): Promise<HttpRegistry> {
  const handler = createRegistryHandler(options);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const request: RegistryRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      body: req,
      ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}),
    };
    handler(request).then(
      (response) => {
        const cookies = response.cookies?.length ? { 'Set-Cookie': [...response.cookies] } : {};
        res.writeHead(response.status, { ...response.headers, ...cookies });
        if (response.body instanceof Readable) response.body.pipe(res);
        else res.end(response.body);
      },
      (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
