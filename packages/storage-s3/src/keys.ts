import { RegistryError } from '@zotjs/core';
import { nameInvalid } from './options.js';

// Names a repository path component cannot take: they are a repository's own entries
// (`a/blobs` would land in repository `a`'s blob folder), as in the OCI-layout backend.
const RESERVED_COMPONENTS = new Set(['blobs', 'index.json', 'oci-layout', '.uploads']);

export const UPLOADS = '.uploads';
export const TOUCH_PREFIX = 'touch-';

/**
 * Object keys, mirroring the OCI image layout so that a copy of the bucket on disk is a folder of
 * OCI layouts: `<root>/<repo>/oci-layout`, `<root>/<repo>/index.json`, `<root>/<repo>/blobs/<alg>/<hex>`.
 * Upload sessions live in `<root>/<repo>/.uploads/<id>/` (`session` holds the state and the bytes not
 * yet in a part; `data-*` is the multipart upload or its completed object).
 */
export class KeyLayout {
  /** `""` or `"some/prefix/"`. */
  readonly root: string;

  constructor(rootDirectory = '') {
    const trimmed = rootDirectory.replace(/^\/+|\/+$/g, '');
    if (trimmed.split('/').some((c) => c === '.' || c === '..')) throw new Error('rootdirectory must not contain "." or ".." components');
    this.root = trimmed ? `${trimmed}/` : '';
  }

  repository(repository: string): string {
    // Core validated the grammar; this is the second fence.
    if (!repository || repository.split('/').some((c) => c === '' || c === '.' || c === '..' || RESERVED_COMPONENTS.has(c))) {
      if (!repository || repository.includes('..')) throw new RegistryError('NAME_INVALID', 'invalid repository name');
      throw nameInvalid(repository);
    }
    return `${this.root}${repository}/`;
  }

  index(repository: string): string {
    return `${this.repository(repository)}index.json`;
  }

  layoutFile(repository: string): string {
    return `${this.repository(repository)}oci-layout`;
  }

  blobs(repository: string): string {
    return `${this.repository(repository)}blobs/`;
  }

  blob(repository: string, digest: string): string {
    const colon = digest.indexOf(':');
    return `${this.blobs(repository)}${digest.slice(0, colon)}/${digest.slice(colon + 1)}`;
  }

  uploads(repository: string): string {
    return `${this.repository(repository)}${UPLOADS}/`;
  }

  upload(repository: string, uploadId: string): string {
    return `${this.uploads(repository)}${uploadId}/`;
  }

  session(repository: string, uploadId: string): string {
    return `${this.upload(repository, uploadId)}session`;
  }

  data(repository: string, uploadId: string, name: string): string {
    return `${this.upload(repository, uploadId)}${name}`;
  }

  /** Marks a garbage-collection delete of the blob in progress (see BlobGuard). */
  gcMarker(repository: string, digest: string): string {
    return `${this.uploads(repository)}gc-${digest.replace(':', '-')}`;
  }

  /**
   * When the blob was last touched (an empty object; its own modification time counts as the
   * blob's). A touch writes this instead of copying the blob onto itself: a copy reads, then writes,
   * and a delete landing between the two was undone by it (see BlobGuard).
   */
  touchRecord(repository: string, digest: string): string {
    return `${this.uploads(repository)}${TOUCH_PREFIX}${digest.replace(':', '-')}`;
  }

  /** Where this instance checks whether the store honours conditional writes. */
  probe(name: string): string {
    return `${this.root}${UPLOADS}/probe-${name}`;
  }
}
