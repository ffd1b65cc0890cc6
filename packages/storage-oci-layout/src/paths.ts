import { join, resolve, sep } from 'node:path';
import { RegistryError } from '@zotjs/core';
import { SESSION_LOCK_PREFIX } from './repository-lock.js';

// Names a repository folder cannot take inside another repository: they are the layout's own
// entries (`a/blobs` would land in repository `a`'s blob folder).
const RESERVED_COMPONENTS = new Set(['blobs', 'index.json', 'oci-layout']);

/** Folder (under the root) of the deduplication store. */
export const BLOB_STORE = '_blobstore';

// Checked repository folders remembered (every request needs its repository's folder, often several times).
const CHECKED_FOLDERS = 4096;

/** Where each piece of a repository lives on disk (the OCI image layout, plus `.uploads`). */
export class LayoutPaths {
  readonly root: string;
  private readonly checked = new Map<string, string>();

  constructor(rootDirectory: string) {
    this.root = resolve(rootDirectory);
  }

  repository(repository: string): string {
    const known = this.checked.get(repository);
    if (known !== undefined) return known;
    // Core validated the grammar; this is the second fence: never leave the root.
    if (repository.split('/').some((c) => RESERVED_COMPONENTS.has(c))) {
      throw new RegistryError('NAME_INVALID', 'repository name uses a reserved path component', { detail: { name: repository } });
    }
    const dir = join(this.root, repository);
    if (!dir.startsWith(this.root + sep)) throw new RegistryError('NAME_INVALID', 'invalid repository name');
    if (this.checked.size >= CHECKED_FOLDERS) this.checked.clear();
    this.checked.set(repository, dir);
    return dir;
  }

  index(repository: string): string {
    return join(this.repository(repository), 'index.json');
  }

  layoutFile(repository: string): string {
    return join(this.repository(repository), 'oci-layout');
  }

  blobDir(repository: string, algorithm: string): string {
    return join(this.repository(repository), 'blobs', algorithm);
  }

  blob(repository: string, digest: string): string {
    // Core validated the digest (lowercase algorithm and hex, no separators): nothing to normalize.
    const colon = digest.indexOf(':');
    return `${this.repository(repository)}${sep}blobs${sep}${digest.slice(0, colon)}${sep}${digest.slice(colon + 1)}`;
  }

  /**
   * The content-addressed store used for deduplication: one link to each deduplicated blob,
   * which every repository holding that blob hard-links to. Its name cannot be a repository's
   * (repository names start with a letter or digit).
   */
  get store(): string {
    return join(this.root, BLOB_STORE);
  }

  storeBlob(digest: string): string {
    const colon = digest.indexOf(':');
    return join(this.store, digest.slice(0, colon), digest.slice(colon + 1));
  }

  uploads(repository: string): string {
    return join(this.repository(repository), '.uploads');
  }

  upload(repository: string, uploadId: string): string {
    return join(this.uploads(repository), uploadId);
  }

  /** The lock folder held while a request writes or commits the session. */
  uploadLock(repository: string, uploadId: string): string {
    return join(this.uploads(repository), `${SESSION_LOCK_PREFIX}${uploadId}`);
  }
}
