// Test data: a random blob file (hashed as it is written), small OCI images in memory, and the same
// images as OCI layouts on disk for skopeo.
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Writes `size` random bytes to `file`; returns { file, size, digest }. */
export async function createRandomFile(file, size) {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, size));
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(buffer.length, size - written);
      const chunk = buffer.subarray(0, n);
      randomFillSync(chunk);
      hash.update(chunk);
      await handle.write(chunk, 0, n);
      written += n;
    }
  } finally {
    await handle.close();
  }
  return { file, size, digest: `sha256:${hash.digest('hex')}` };
}

/** A single-layer OCI image with `layerSize` random bytes; distinct on every call. */
export function smallImage(layerSize) {
  const layer = randomBytes(layerSize);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: new Date().toISOString(),
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
      config: { Labels: { nonce: randomBytes(8).toString('hex') } },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: sha256(layer), size: layer.length }],
    }),
  );
  return {
    config: { bytes: config, digest: sha256(config) },
    layer: { bytes: layer, digest: sha256(layer) },
    manifest: { bytes: manifest, digest: sha256(manifest), mediaType: OCI_MANIFEST },
  };
}

/** Pushes an image's blobs, then its manifest under each tag (`concurrency` manifest PUTs at a time). */
export async function pushImage(client, repo, image, tags, concurrency = 8) {
  await client.pushBuffer(repo, image.config.bytes, image.config.digest);
  await client.pushBuffer(repo, image.layer.bytes, image.layer.digest);
  const queue = [...tags];
  const worker = async () => {
    for (let tag = queue.shift(); tag !== undefined; tag = queue.shift()) {
      await client.putManifest(repo, tag, image.manifest.bytes, image.manifest.mediaType);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tags.length) }, worker));
}

/** Writes an image as an OCI image layout at `dir` with the given tag (what `skopeo copy oci:DIR:TAG` reads). */
export function writeOciLayout(dir, image, tag) {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  for (const part of [image.config, image.layer, image.manifest]) {
    writeFileSync(join(blobs, part.digest.slice('sha256:'.length)), part.bytes);
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: image.manifest.mediaType,
          digest: image.manifest.digest,
          size: image.manifest.bytes.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
}
