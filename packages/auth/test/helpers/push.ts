import { createHash } from 'node:crypto';
import { call, type CallOptions } from './https-registry.js';

const sha256 = (data: string | Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Pushes a one-layer OCI image with monolithic uploads; returns the statuses of each step. */
export async function pushImage(url: string, repository: string, tag: string, auth: CallOptions): Promise<number[]> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from(`layer of ${repository}:${tag} ${Date.now()}`);
  const statuses: number[] = [];
  for (const blob of [config, layer]) {
    const answer = await call(`${url}/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, {
      ...auth,
      method: 'POST',
      body: blob,
      headers: { 'content-type': 'application/octet-stream' },
    });
    statuses.push(answer.status);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  });
  const put = await call(`${url}/v2/${repository}/manifests/${tag}`, {
    ...auth,
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  statuses.push(put.status);
  return statuses;
}
