// In-process HTTP for core's handler tests: requests go straight into createRegistryHandler.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  MediaTypes,
  Registry,
  createRegistryHandler,
  type ErrorBody,
  type HandlerOptions,
  type RegistryHandler,
  type RequestOutcome,
} from '../../src/index.js';
import { AgingStorage } from './aging-storage.js';

export interface Reply {
  status: number;
  /** Response headers with lowercase names. */
  headers: Record<string, string>;
  body: Buffer;
  outcome: RequestOutcome;
  /** Whether the handler returned a body at all (HEAD must not). */
  hasBody: boolean;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** Sent with a Content-Length header unless `chunked` is set. */
  body?: Uint8Array | string;
  /** Sent as a stream without Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
  /** A body stream used as is (no Content-Length added). */
  stream?: Readable;
}

export class Client {
  constructor(readonly handler: RegistryHandler) {}

  async send(method: string, url: string, options: SendOptions = {}): Promise<Reply> {
    // Split by hand: URL would resolve `..` segments, which a real server receives untouched.
    const question = url.indexOf('?');
    const path = question < 0 ? url : url.slice(0, question);
    const query = new URLSearchParams(question < 0 ? '' : url.slice(question + 1));
    const headers: Record<string, string> = {};
    let body: Readable | undefined = options.stream;
    if (options.body !== undefined) {
      const bytes = Buffer.from(options.body);
      body = Readable.from([bytes]);
      if (options.chunked) headers['transfer-encoding'] = 'chunked';
      else headers['content-length'] = String(bytes.length);
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
    const response = await this.handler({
      method,
      path,
      query,
      headers,
      ...(body ? { body } : {}),
    });
    const lower = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    let bytes = Buffer.alloc(0);
    if (response.body instanceof Readable) {
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) chunks.push(chunk as Buffer);
      bytes = Buffer.concat(chunks);
    } else if (response.body) {
      bytes = Buffer.from(response.body);
    }
    return { status: response.status, headers: lower, body: bytes, outcome: response.outcome, hasBody: response.body !== undefined };
  }

  get(url: string, options?: SendOptions): Promise<Reply> {
    return this.send('GET', url, options);
  }

  head(url: string, options?: SendOptions): Promise<Reply> {
    return this.send('HEAD', url, options);
  }

  /** Pushes a blob in one POST ?digest= and returns its digest. */
  async pushBlob(repository: string, data: Uint8Array | string, algorithm: 'sha256' | 'sha512' = 'sha256'): Promise<string> {
    const digest = digestOf(data, algorithm);
    const reply = await this.send('POST', `/v2/${repository}/blobs/uploads/?digest=${digest}`, { body: data });
    assert.equal(reply.status, 201, `push blob: ${reply.body.toString()}`);
    return digest;
  }

  /** Pushes a small OCI image (config + one layer) under `reference` and returns what it pushed. */
  async pushImage(repository: string, reference: string, extra: Record<string, unknown> = {}): Promise<PushedImage> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: Math.random() }));
    const layer = Buffer.from(`layer of ${repository}:${reference} ${Math.random()}`);
    const configDigest = await this.pushBlob(repository, config);
    const layerDigest = await this.pushBlob(repository, layer);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
        ...extra,
      }),
    );
    const reply = await this.send('PUT', `/v2/${repository}/manifests/${reference}`, {
      body: manifest,
      headers: { 'content-type': MediaTypes.ociManifest },
    });
    assert.equal(reply.status, 201, `push manifest: ${reply.body.toString()}`);
    return { digest: digestOf(manifest), manifest, configDigest, layerDigest, config, layer };
  }
}

export interface PushedImage {
  digest: string;
  manifest: Buffer;
  configDigest: string;
  layerDigest: string;
  config: Buffer;
  layer: Buffer;
}

export interface TestRegistry {
  storage: AgingStorage;
  registry: Registry;
  client: Client;
}

/** A registry over a fresh in-memory storage, driven in-process. */
export function testRegistry(
  options: { deleteEnabled?: boolean; maxManifestBytes?: number } & Omit<HandlerOptions, 'registry'> = {},
): TestRegistry {
  const { deleteEnabled, maxManifestBytes, ...handlerOptions } = options;
  const storage = new AgingStorage();
  const registry = new Registry({
    storage,
    ...(deleteEnabled === undefined ? {} : { deleteEnabled }),
    ...(maxManifestBytes === undefined ? {} : { maxManifestBytes }),
  });
  return { storage, registry, client: new Client(createRegistryHandler({ registry, ...handlerOptions })) };
}

export function digestOf(data: Uint8Array | string, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Checks a spec error answer: status, code, JSON body shape and the API version header. */
export function assertError(reply: Reply, status: number, code: string): ErrorBody {
  assert.equal(reply.status, status, `expected ${status} ${code}, got ${reply.status}: ${reply.body.toString()}`);
  assert.equal(reply.headers['docker-distribution-api-version'], 'registry/2.0');
  assert.equal(reply.headers['content-type'], 'application/json');
  if (!reply.hasBody) return { errors: [] }; // HEAD: the status says it all
  const body = JSON.parse(reply.body.toString()) as ErrorBody;
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, 'errors array');
  assert.equal(body.errors[0]!.code, code);
  assert.equal(typeof body.errors[0]!.message, 'string');
  assert.match(body.errors[0]!.code, /^[A-Z_]+$/);
  return body;
}

export function json<T>(reply: Reply): T {
  return JSON.parse(reply.body.toString()) as T;
}
