/**
 * A real HTTPS registry for this package's tests: node's https server with the TLS material and
 * authenticator/authorizer built from a zot config by `createSecurityFromConfig`, the core
 * handler, and OCI-layout storage in a temp folder. (The Koa adapter and CLI have their own
 * end-to-end tests; this keeps the auth package's tests independent of them.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createRegistryHandler, Registry, type Logger, type RegistryRequest } from '@zotjs/core';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import { createSecurityFromConfig, type Security, type SecurityOptions } from '../../src/factory.js';
import { verifiedClientCertificate } from '../../src/mtls.js';

export interface TestRegistry {
  url: string;
  port: number;
  server: Server;
  security: Security;
  close(): Promise<void>;
}

export async function startHttpsRegistry(
  http: Record<string, unknown>,
  options: SecurityOptions & { logger?: Logger } = {},
): Promise<TestRegistry> {
  const root = await mkdtemp(join(tmpdir(), 'zot-auth-registry-'));
  const security = await createSecurityFromConfig(http, options);
  if (!security.tls) throw new Error('startHttpsRegistry needs http.tls');
  const handler = createRegistryHandler({
    registry: new Registry({ storage: new OciLayoutStorage({ rootDirectory: root }) }),
    ...(security.authenticator ? { authenticator: security.authenticator } : {}),
    ...(security.authorizer ? { authorizer: security.authorizer } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const server = createServer(security.tls.serverOptions(), (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const clientCertificate = verifiedClientCertificate(req.socket);
    const registryRequest: RegistryRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      body: req,
      ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}),
      ...(clientCertificate ? { clientCertificate } : {}),
    };
    handler(registryRequest).then(
      (response) => {
        res.writeHead(response.status, response.headers);
        if (response.body instanceof Readable) response.body.pipe(res);
        else res.end(response.body);
      },
      (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    server,
    security,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await security.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface CallOptions {
  method?: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  user?: string | undefined;
  password?: string | undefined;
  headers?: Record<string, string>;
  body?: string | Buffer;
  maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}

/** One HTTPS request on a fresh connection (so certificate changes are seen). */
export function call(url: string, options: CallOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.user !== undefined)
      headers.authorization = `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}`;
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        headers,
        agent: false,
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.cert ? { cert: options.cert } : {}),
        ...(options.key ? { key: options.key } : {}),
        // SECLEVEL=0 lets this client really offer old versions, so a refusal is the server's.
        ...(options.maxVersion ? { maxVersion: options.maxVersion, minVersion: 'TLSv1' as const, ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
