import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { KeyedMutex, emptyIndex, parseIndex, type IndexUpdate, type RepositoryIndex } from '@zotjs/core';
import { ifMatchValue, type ConditionalStyle } from './conditional.js';
import type { KeyLayout } from './keys.js';
import { isConditionFailed, isNotFound, isNotModified, sleep } from './s3-util.js';

const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });
/** Optimistic retries before giving up; with the backoff below that is well over a minute of contention. */
const MAX_ATTEMPTS = 200;

interface Stored {
  etag: string;
  index: RepositoryIndex;
}

/**
 * index.json per repository with atomic read-modify-write across replicas: read with its ETag, apply
 * the update, write with `If-Match` (or `If-None-Match: *` when creating); a lost race re-reads and
 * retries. Within one process updates of a repository are also queued, so replicas race only with
 * each other. On a store that ignores conditional writes only that in-process queue remains (see README).
 */
export class IndexStore {
  private readonly local = new KeyedMutex();
  // Last index read or written per repository, revalidated with If-None-Match on every read.
  private readonly cache = new Map<string, Stored>();
  // Repositories this instance saw with an index.json (repositories are never deleted through the API).
  private readonly known = new Set<string>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly keys: KeyLayout,
    private readonly conditional: () => Promise<ConditionalStyle>,
  ) {}

  async read(repository: string): Promise<RepositoryIndex | undefined> {
    return (await this.fetch(repository))?.index;
  }

  async update(repository: string, update: IndexUpdate): Promise<RepositoryIndex> {
    const style = await this.conditional();
    return this.local.run(repository, async () => {
      for (let attempt = 1; ; attempt++) {
        const current = await this.fetch(repository);
        const next = update(current?.index ?? emptyIndex());
        if (current && !next) return current.index;
        const index = next ?? emptyIndex();
        try {
          await this.write(repository, index, current?.etag, style);
          return index;
        } catch (err) {
          if (!isConditionFailed(err) || attempt >= MAX_ATTEMPTS) throw err;
          // Another replica wrote first: back off a little (randomized, growing) and redo the edit.
          await sleep(Math.random() * Math.min(5 + attempt * 5, 250));
        }
      }
    });
  }

  /** Creates the repository (oci-layout and an empty index.json) unless it exists. */
  async ensure(repository: string): Promise<void> {
    if (this.known.has(repository)) return;
    if (await this.fetch(repository)) return;
    const style = await this.conditional();
    try {
      await this.write(repository, emptyIndex(), undefined, style);
    } catch (err) {
      if (!isConditionFailed(err)) throw err; // created by someone else meanwhile: fine
    }
  }

  private async fetch(repository: string): Promise<Stored | undefined> {
    const key = this.keys.index(repository);
    const cached = this.cache.get(repository);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(cached ? { IfNoneMatch: cached.etag } : {}) }),
      );
      const text = await out.Body!.transformToString('utf8');
      const stored = { etag: out.ETag ?? '', index: parseIndex(text, repository) };
      this.cache.set(repository, stored);
      this.known.add(repository);
      return stored;
    } catch (err) {
      if (cached && isNotModified(err)) return cached;
      if (isNotFound(err)) {
        this.cache.delete(repository);
        this.known.delete(repository);
        return undefined;
      }
      throw err;
    }
  }

  /** Writes index.json guarded by `etag` (or by its absence); creating also writes the oci-layout marker. */
  private async write(repository: string, index: RepositoryIndex, etag: string | undefined, style: ConditionalStyle): Promise<void> {
    if (etag === undefined) {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.keys.layoutFile(repository),
          Body: OCI_LAYOUT,
          ContentLength: OCI_LAYOUT.length,
          ContentType: 'application/json',
        }),
      );
    }
    const body = Buffer.from(JSON.stringify(index));
    const condition = etag === undefined ? (style === 'none' ? {} : { IfNoneMatch: '*' }) : { IfMatch: ifMatchValue(style, etag) };
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.keys.index(repository),
        Body: body,
        ContentLength: body.length,
        ContentType: 'application/json',
        ...condition,
      }),
    );
    this.known.add(repository);
    if (out.ETag) this.cache.set(repository, { etag: out.ETag, index });
    else this.cache.delete(repository);
  }
}
