// Test support for garbage collection and scrub, over an in-memory storage whose clock can be
// turned back per blob (to make blobs "old") and whose bytes can be damaged (to make them corrupt).
import { createHash } from 'node:crypto';
import { MediaTypes, Registry, createRegistryHandler, type Descriptor } from '../../src/index.js';
import { Client } from './http.js';
import { AgingStorage } from './aging-storage.js';

export { AgingStorage };

export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;

export function setup(): { storage: AgingStorage; registry: Registry; client: Client } {
  const storage = new AgingStorage();
  const registry = new Registry({ storage });
  return { storage, registry, client: new Client(createRegistryHandler({ registry })) };
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** An image index over the given manifests, optionally with a subject. */
export function indexOf(children: Array<{ digest: string; size: number }>, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: children.map((c) => ({
        mediaType: MediaTypes.ociManifest,
        digest: c.digest,
        size: c.size,
        platform: { architecture: 'amd64', os: 'linux' },
      })),
      ...extra,
    }),
  );
}

/** A referrer (an OCI artifact manifest with a subject) pushed by digest; returns its digest. */
export async function pushReferrer(
  client: Client,
  repository: string,
  subject: Descriptor,
  artifactType = 'application/vnd.example.sbom',
): Promise<string> {
  const payload = Buffer.from(`sbom for ${subject.digest} ${Math.random()}`);
  const payloadDigest = await client.pushBlob(repository, payload);
  const empty = await client.pushBlob(repository, '{}');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType,
      config: { mediaType: MediaTypes.ociEmpty, digest: empty, size: 2 },
      layers: [{ mediaType: 'application/spdx+json', digest: payloadDigest, size: payload.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    }),
  );
  const digest = sha256(manifest);
  const reply = await client.send('PUT', `/v2/${repository}/manifests/${digest}`, {
    body: manifest,
    headers: { 'content-type': MediaTypes.ociManifest },
  });
  if (reply.status !== 201) throw new Error(`push referrer: ${reply.status} ${reply.body.toString()}`);
  return digest;
}
