/** Plain distribution-spec HTTP calls for end-to-end tests (what a client does, with fetch). */
import assert from 'node:assert/strict';
import type { BlobContent, Content, ImageContent } from '../helpers/images.js';
import { allBlobs } from '../helpers/images.js';

/** Uploads a blob with POST + monolithic PUT; asserts 201. */
export async function pushBlob(baseUrl: string, repository: string, blob: BlobContent): Promise<void> {
  const start = await fetch(`${baseUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  assert.equal(start.status, 202, `POST upload for ${repository}`);
  const location = start.headers.get('location');
  assert.ok(location, 'upload Location header');
  const url = new URL(location, baseUrl);
  url.searchParams.set('digest', blob.descriptor.digest);
  const put = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.data.length) },
    body: blob.data,
  });
  const body = await put.text();
  assert.equal(put.status, 201, `PUT blob ${blob.descriptor.digest}: ${body}`);
}

/** PUTs a manifest's exact bytes under `reference`; returns the response. */
export async function putManifest(
  baseUrl: string,
  repository: string,
  reference: string,
  manifest: Buffer,
  mediaType: string,
): Promise<Response> {
  return fetch(`${baseUrl}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: manifest,
  });
}

/** Pushes every blob, then every child manifest by digest, then the top manifest under `tag`. */
export async function pushContent(baseUrl: string, repository: string, tag: string, content: Content): Promise<void> {
  const images: ImageContent[] = content.kind === 'image' ? [content] : content.images;
  const manifests = new Set(images.map((image) => image.descriptor.digest));
  for (const blob of allBlobs(content)) {
    if (!manifests.has(blob.descriptor.digest) && blob.descriptor.digest !== content.descriptor.digest) {
      await pushBlob(baseUrl, repository, blob);
    }
  }
  if (content.kind === 'index') {
    for (const image of content.images) {
      const res = await putManifest(baseUrl, repository, image.descriptor.digest, image.manifest, image.descriptor.mediaType);
      assert.equal(res.status, 201, `PUT child manifest: ${await res.text()}`);
    }
  }
  const res = await putManifest(baseUrl, repository, tag, content.manifest, content.descriptor.mediaType);
  assert.equal(res.status, 201, `PUT manifest ${repository}:${tag}: ${await res.text()}`);
}

/** GET a manifest with every manifest media type accepted; returns its exact bytes and headers. */
export async function getManifest(
  baseUrl: string,
  repository: string,
  reference: string,
): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(`${baseUrl}/v2/${repository}/manifests/${reference}`, {
    headers: {
      accept: [
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
      ].join(', '),
    },
  });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

export async function listTags(baseUrl: string, repository: string): Promise<string[]> {
  const res = await fetch(`${baseUrl}/v2/${repository}/tags/list`);
  const body = (await res.json()) as { tags?: string[] | null };
  assert.equal(res.status, 200, `tags/list ${repository}`);
  return body.tags ?? [];
}
