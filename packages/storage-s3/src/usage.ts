import { DigestAlgorithms, isValidUploadId, tryParseDigest, type RepositoryUsage } from '@zotjs/core';
import type { Bucket } from './bucket.js';
import type { KeyLayout } from './keys.js';

/**
 * What one repository holds in the bucket, from listings only (no object is read): `index.json`,
 * `oci-layout` and the blob objects, each by its key (the store bills every object, copies
 * included), and the upload sessions (`.uploads/<id>/session`). Undefined when the repository
 * does not exist.
 */
export async function measureRepository(bucket: Bucket, keys: KeyLayout, repository: string): Promise<RepositoryUsage | undefined> {
  const top = keys.repository(repository);
  const { files } = await bucket.listLevel(top);
  const index = files.find((f) => f.key === 'index.json');
  if (!index) return undefined;
  const stored = new Map<string, number>([[`${top}index.json`, index.size]]);
  const layout = files.find((f) => f.key === 'oci-layout');
  if (layout) stored.set(`${top}oci-layout`, layout.size);
  const blobs = keys.blobs(repository);
  const uploads = keys.uploads(repository);
  const [blobObjects, uploadObjects] = await Promise.all([bucket.list(blobs), bucket.list(uploads)]);
  for (const o of blobObjects) {
    const [algorithm, hex, ...rest] = o.key.slice(blobs.length).split('/');
    if (rest.length > 0 || !algorithm || !hex || !Object.hasOwn(DigestAlgorithms, algorithm)) continue;
    if (tryParseDigest(`${algorithm}:${hex}`)) stored.set(o.key, o.size); // stray objects are not blobs
  }
  let uploadSessions = 0;
  for (const o of uploadObjects) {
    const [id, name, ...rest] = o.key.slice(uploads.length).split('/');
    if (rest.length === 0 && name === 'session' && id !== undefined && isValidUploadId(id)) uploadSessions += 1;
  }
  return { stored, uploadSessions };
}
