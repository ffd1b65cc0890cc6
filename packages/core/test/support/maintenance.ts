// Test support for garbage collection and scrub: an in-memory storage whose clock can be turned
// back per blob (to make blobs "old") and whose bytes can be damaged (to make them corrupt).
import { createHash } from 'node:crypto';
import { MediaTypes, Registry, createRegistryHandler, type Descriptor } from '../../src/index.js';
import { Client } from './http.js';
import { MemoryStorage } from './memory-storage.js';

export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;

export class AgingStorage extends MemoryStorage {
  /** Moves the modification time of the repository's blobs (all, or these) `ms` into the past. */
  age(repository: string, ms: number, digests?: readonly string[]): void {
    const repo = this.repositories.get(repository);
    if (!repo) throw new Error(`no repository ${repository}`);
    for (const [digest, time] of repo.blobTimes) {
      if (!digests || digests.includes(digest)) repo.blobTimes.set(digest, new Date(time.getTime() - ms));
    }
  }

  /** Ages every repository's blobs and upload sessions. */
  ageAll(ms: number): void {
    for (const [name, repo] of this.repositories) {
      this.age(name, ms);
      for (const upload of repo.uploads.values()) {
        upload.startedAt = new Date(upload.startedAt.getTime() - ms);
        upload.modifiedAt = new Date(upload.modifiedAt.getTime() - ms);
      }
    }
  }

  /** Replaces a stored blob's bytes (same length, different content): bit rot. */
  corrupt(repository: string, digest: string): void {
    const repo = this.repositories.get(repository);
    const blob = repo?.blobs.get(digest);
    if (!repo || !blob) throw new Error(`no blob ${digest} in ${repository}`);
    const damaged = Buffer.from(blob);
    const at = damaged.length >> 1;
    damaged[at] = (damaged[at] ?? 0) ^ 0xff;
    repo.blobs.set(digest, damaged);
  }

  blobDigests(repository: string): string[] {
    return [...(this.repositories.get(repository)?.blobs.keys() ?? [])].sort();
  }

  has(repository: string, digest: string): boolean {
    return this.repositories.get(repository)?.blobs.has(digest) ?? false;
  }
}

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
      manifests: children.map((c) => ({ mediaType: MediaTypes.ociManifest, digest: c.digest, size: c.size, platform: { architecture: 'amd64', os: 'linux' } })),
      ...extra,
    }),
  );
}

/** A referrer (an OCI artifact manifest with a subject) pushed by digest; returns its digest. */
export async function pushReferrer(client: Client, repository: string, subject: Descriptor, artifactType = 'application/vnd.example.sbom'): Promise<string> {
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
  const reply = await client.send('PUT', `/v2/${repository}/manifests/${digest}`, { body: manifest, headers: { 'content-type': MediaTypes.ociManifest } });
  if (reply.status !== 201) throw new Error(`push referrer: ${reply.status} ${reply.body.toString()}`);
  return digest;
}
