import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyedMutex, emptyIndex } from '@zotjs/core';
import { createFileOnce, ensureDir, exists, isNotFound } from './fs-util.js';
import type { LayoutPaths } from './paths.js';

const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/**
 * Repositories as folders: which exist (a folder holding an `index.json`), creating one on first
 * use (`oci-layout`, an empty `index.json`, `blobs/`, `.uploads/`) without ever replacing what
 * another process created meanwhile, and where a repository's lock folders live.
 */
export class RepositoryFolders {
  private readonly creating = new KeyedMutex();

  constructor(
    private readonly paths: LayoutPaths,
    private readonly durable: boolean,
  ) {}

  /** Every folder under the root holding an `index.json`, by its name relative to the root. */
  async list(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      if (prefix && entries.some((e) => e.name === 'index.json' && e.isFile())) found.push(prefix);
      await Promise.all(
        entries
          // `.uploads`, `_blobstore` and a layout's `blobs` are never repositories.
          .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_') && e.name !== 'blobs')
          .map((e) => walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name)),
      );
    };
    await walk(this.paths.root, '');
    return found;
  }

  /** Creates the repository's layout (oci-layout, index.json, folders) if it does not exist yet. */
  async ensure(repository: string): Promise<void> {
    try {
      await stat(this.paths.index(repository));
      await stat(this.paths.uploads(repository));
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.creating.run(repository, () => this.create(repository));
  }

  /** Where the repository's locks live, or undefined when there is no such repository. */
  async lockDir(repository: string): Promise<string | undefined> {
    const uploads = this.paths.uploads(repository);
    if (await exists(uploads)) return uploads;
    if (!(await exists(this.paths.index(repository)))) return undefined;
    await ensureDir(uploads); // a layout made by another tool: add the registry's own folder
    return uploads;
  }

  private async create(repository: string): Promise<void> {
    const uploads = this.paths.uploads(repository);
    await ensureDir(uploads);
    await ensureDir(join(this.paths.repository(repository), 'blobs'));
    // Never replace these: another process may have created the repository and pushed meanwhile.
    if (!(await exists(this.paths.layoutFile(repository)))) {
      await createFileOnce(this.paths.layoutFile(repository), OCI_LAYOUT, uploads, this.durable);
    }
    if (!(await exists(this.paths.index(repository)))) {
      await createFileOnce(this.paths.index(repository), JSON.stringify(emptyIndex()), uploads, this.durable);
    }
  }
}
