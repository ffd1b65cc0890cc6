/**
 * The real core handler over OCI-layout storage in a temp folder, called in-process with
 * RegistryRequest objects: the request path a framework adapter would take, without a socket.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { createRegistryHandler, Registry, type Authenticator, type Authorizer, type Logger, type RouteDefinition } from '@zotjs/core';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  text: string;
  json(): unknown;
}

export interface SendOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
  remoteAddress?: string;
}

export interface TestHandler {
  root: string;
  send(method: string, path: string, options?: SendOptions): Promise<Reply>;
  close(): Promise<void>;
}

export async function startHandler(options: {
  authenticator?: Authenticator;
  authorizer?: Authorizer;
  extraRoutes?: RouteDefinition[];
  logger?: Logger;
}): Promise<TestHandler> {
  const root = await mkdtemp(join(tmpdir(), 'zot-auth-handler-'));
  const handler = createRegistryHandler({
    registry: new Registry({ storage: new OciLayoutStorage({ rootDirectory: root }) }),
    ...(options.authenticator ? { authenticator: options.authenticator } : {}),
    ...(options.authorizer ? { authorizer: options.authorizer } : {}),
    ...(options.extraRoutes ? { extraRoutes: options.extraRoutes } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return {
    root,
    async send(method, path, opts = {}) {
      const url = new URL(path, 'http://localhost');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
      if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
      const response = await handler({
        method,
        path: url.pathname,
        query: url.searchParams,
        headers,
        ...(opts.body !== undefined ? { body: Readable.from([Buffer.from(opts.body)]) } : {}),
        remoteAddress: opts.remoteAddress ?? '192.0.2.10',
      });
      let text = '';
      if (response.body instanceof Readable) {
        const chunks: Buffer[] = [];
        for await (const c of response.body) chunks.push(c as Buffer);
        text = Buffer.concat(chunks).toString('utf8');
      } else if (response.body) text = Buffer.from(response.body).toString('utf8');
      return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as unknown };
    },
    close: () => rm(root, { recursive: true, force: true }),
  };
}

const sha256 = (data: string | Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Pushes a one-layer image with monolithic uploads; the statuses of each step. */
/** Pushes a small image under `tag`; another `variant` makes another manifest for the same tag. */
export async function pushWith(
  h: TestHandler,
  repository: string,
  tag: string,
  headers: Record<string, string>,
  variant = '',
): Promise<number[]> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from(`layer ${repository}:${tag}${variant}`);
  const statuses: number[] = [];
  for (const blob of [config, layer]) {
    statuses.push((await h.send('POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { headers, body: blob })).status);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  });
  statuses.push(
    (
      await h.send('PUT', `/v2/${repository}/manifests/${tag}`, {
        headers: { ...headers, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: manifest,
      })
    ).status,
  );
  return statuses;
}

export const basic = (user: string, password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
