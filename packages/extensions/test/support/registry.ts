/**
 * Test support: the core handler over a real OCI-layout storage in a temp folder, driven
 * without HTTP (the e2e tests in packages/cli go through a real server and real clients).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  createRegistryHandler,
  Registry,
  type Authenticator,
  type HandledResponse,
  type RegistryHandler,
  type RouteDefinition,
} from '@zotjs/core';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import type { RequestRecord } from '../../src/index.js';

export interface Harness {
  root: string;
  /** The storage the registry runs on (extensions check and measure it). */
  storage: OciLayoutStorage;
  handler: RegistryHandler;
  cleanup(): Promise<void>;
}

export async function tempDir(prefix = 'zot-ext-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function harness(
  options: { root?: string; extraRoutes?: readonly RouteDefinition[]; authenticator?: Authenticator } = {},
): Promise<Harness> {
  const root = options.root ?? (await tempDir());
  const storage = new OciLayoutStorage({ rootDirectory: root });
  const registry = new Registry({ storage });
  const handler = createRegistryHandler({
    registry,
    ...(options.extraRoutes ? { extraRoutes: options.extraRoutes } : {}),
    ...(options.authenticator ? { authenticator: options.authenticator } : {}),
  });
  return { root, storage, handler, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export interface Sent {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  response: HandledResponse;
  /** What the adapter would report once the response is over. */
  record: RequestRecord;
}

export async function send(
  handler: RegistryHandler,
  method: string,
  url: string,
  options: { body?: Buffer; headers?: Record<string, string> } = {},
): Promise<Sent> {
  const started = Date.now();
  const [path, query = ''] = url.split('?', 2) as [string, string?];
  const headers: Record<string, string> = { ...options.headers };
  if (options.body) headers['content-length'] = String(options.body.length);
  const response = await handler({
    method,
    path,
    query: new URLSearchParams(query),
    headers,
    ...(options.body ? { body: Readable.from([options.body]) } : {}),
    remoteAddress: '127.0.0.1',
  });
  let body = Buffer.alloc(0);
  if (response.body instanceof Readable) {
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
    body = Buffer.concat(chunks);
  } else if (response.body) {
    body = Buffer.from(response.body);
  }
  const record: RequestRecord = {
    method,
    path,
    status: response.status,
    bytesIn: options.body?.length ?? 0,
    bytesOut: body.length,
    durationMs: Date.now() - started,
    outcome: response.outcome,
    remoteAddress: '127.0.0.1',
  };
  return { status: response.status, headers: response.headers, body, response, record };
}

export const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface PushedImage {
  manifestDigest: string;
  layer: Buffer;
  layerDigest: string;
  config: Buffer;
  manifest: Buffer;
  records: RequestRecord[];
}

/** Pushes a one-layer OCI image: the layer in a chunked session (POST, PATCH, PUT), config and manifest in one request each. */
export async function pushImage(handler: RegistryHandler, repository: string, tag: string, layerSize = 4096): Promise<PushedImage> {
  const records: RequestRecord[] = [];
  const ok = (sent: Sent, expected: number): Sent => {
    records.push(sent.record);
    if (sent.status !== expected) throw new Error(`${sent.record.method} ${sent.record.path}: ${sent.status} ${sent.body.toString()}`);
    return sent;
  };
  const layer = randomBytes(layerSize);
  const layerDigest = sha256(layer);
  const started = ok(await send(handler, 'POST', `/v2/${repository}/blobs/uploads/`), 202);
  const location = started.headers['Location']!;
  ok(await send(handler, 'PATCH', location, { body: layer, headers: { 'content-type': 'application/octet-stream' } }), 202);
  ok(await send(handler, 'PUT', `${location}?digest=${layerDigest}`), 201);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
  ok(await send(handler, 'POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(config)}`, { body: config }), 201);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }),
  );
  ok(
    await send(handler, 'PUT', `/v2/${repository}/manifests/${tag}`, {
      body: manifest,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    }),
    201,
  );
  return { manifestDigest: sha256(manifest), layer, layerDigest, config, manifest, records };
}
