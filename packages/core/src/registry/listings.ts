import { parseDigest } from '../digest.js';
import { assertRepositoryName } from '../names.js';
import { referrerArtifactType } from '../manifest.js';
import type { Descriptor } from '../repository-index.js';
import type { RegistryStorage } from '../storage.js';
import { nameUnknown } from './errors.js';
import { compareLexical, tagView } from './index-edits.js';
import type { Manifests } from './manifests.js';
import type { Page, PageOptions } from './types.js';

/** The read-only listings: tags (paginated), the catalog (paginated, filtered by access) and referrers. */
export class Listings {
  constructor(
    private readonly storage: RegistryStorage,
    private readonly manifests: Manifests,
  ) {}

  async tags(repository: string, page: PageOptions): Promise<Page<string>> {
    assertRepositoryName(repository);
    const index = await this.storage.readIndex(repository);
    if (!index) throw nameUnknown(repository);
    return paginate(tagView(index).sorted, page);
  }

  async repositories(page: PageOptions, visible?: (repository: string) => boolean | Promise<boolean>): Promise<Page<string>> {
    let names = await this.storage.listRepositories();
    if (visible) {
      const allowed = await Promise.all(names.map((name) => visible(name)));
      names = names.filter((_, i) => allowed[i]);
    }
    return paginate(names.sort(compareLexical), page);
  }

  /** Manifests in `repository` whose `subject` is `digest`, optionally of one artifact type. */
  async referrers(repository: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    assertRepositoryName(repository);
    const subject = parseDigest(digest).value;
    const index = await this.storage.readIndex(repository);
    if (!index) return [];
    const seen = new Set<string>();
    const referrers: Descriptor[] = [];
    for (const entry of index.manifests) {
      if (seen.has(entry.digest)) continue;
      seen.add(entry.digest);
      const info = await this.manifests.info(repository, entry);
      if (!info || info.subject?.digest !== subject) continue;
      const type = referrerArtifactType(info);
      if (artifactType !== undefined && type !== artifactType) continue;
      const descriptor: Descriptor = { mediaType: info.mediaType, digest: entry.digest, size: entry.size };
      if (type) descriptor.artifactType = type;
      if (info.annotations) descriptor.annotations = info.annotations;
      referrers.push(descriptor);
    }
    return referrers;
  }
}

/** One page of a sorted list: up to `n` items after `last`, and the `last` of the next page when there is one. */
function paginate(sorted: string[], { n, last }: PageOptions): Page<string> {
  let start = 0;
  if (last !== undefined) {
    start = sorted.findIndex((item) => item > last);
    if (start < 0) start = sorted.length;
  }
  if (n === undefined) return { items: sorted.slice(start) };
  const items = sorted.slice(start, start + n);
  const more = start + n < sorted.length && items.length > 0;
  return more ? { items, next: items[items.length - 1]! } : { items };
}
