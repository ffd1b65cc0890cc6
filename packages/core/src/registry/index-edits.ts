import { REF_NAME_ANNOTATION, type Descriptor, type RepositoryIndex } from '../repository-index.js';

/**
 * Edits of a repository's index, pure (they build new objects, never mutate) so that storage may
 * call them again on an optimistic retry, and the views derived from an index.
 */

/** Points `tag` at `entry`, moving it off the manifest it named before. */
export function setTag(index: RepositoryIndex, tag: string, entry: Descriptor): RepositoryIndex | undefined {
  // The same manifest pushed again under its tag: nothing changes (the index is not rewritten).
  const current = index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag);
  if (current && current.digest === entry.digest && current.mediaType === entry.mediaType && current.artifactType === entry.artifactType)
    return undefined;
  const manifests = untagOne(index.manifests, tag).filter((m) => !(m.digest === entry.digest && isUntagged(m)));
  manifests.push({ ...entry, annotations: { [REF_NAME_ANNOTATION]: tag } });
  return { ...index, manifests };
}

/** Adds an untagged entry for a manifest pushed by digest; undefined when the index lists it already. */
export function addUntagged(index: RepositoryIndex, entry: Descriptor): RepositoryIndex | undefined {
  if (index.manifests.some((m) => m.digest === entry.digest)) return undefined;
  return { ...index, manifests: [...index.manifests, entry] };
}

/** Removes `tag`; a manifest losing its last tag stays in the index untagged (pullable by digest). */
export function untagOne(manifests: Descriptor[], tag: string): Descriptor[] {
  const tagged = manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag);
  if (!tagged) return manifests;
  const rest = manifests.filter((m) => m !== tagged);
  if (!rest.some((m) => m.digest === tagged.digest)) {
    const { annotations, ...untagged } = tagged;
    const others = Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k !== REF_NAME_ANNOTATION));
    rest.push(Object.keys(others).length > 0 ? { ...untagged, annotations: others } : (untagged as Descriptor));
  }
  return rest;
}

function isUntagged(entry: Descriptor): boolean {
  return entry.annotations?.[REF_NAME_ANNOTATION] === undefined;
}

/** The index with an untagged entry added for each child manifest it no longer lists. */
export function keepChildren(index: RepositoryIndex, children: Descriptor[]): RepositoryIndex {
  if (children.length === 0) return index;
  const held = new Set(index.manifests.map((m) => m.digest));
  const lost = children.filter((c) => !held.has(c.digest));
  if (lost.length === 0) return index;
  const entries = [...new Map(lost.map((c) => [c.digest, { mediaType: c.mediaType, digest: c.digest, size: c.size }])).values()];
  return { ...index, manifests: [...index.manifests, ...entries] };
}

interface TagView {
  sorted: string[];
  byTag: Map<string, Descriptor>;
}

// Backends hand back the same index object while it is unchanged (and index objects are never
// mutated: updates build new ones), so what is derived from one can be cached on it.
const tagViews = new WeakMap<RepositoryIndex, TagView>();

/** The index's tags, sorted, and the entry each names (the first, should one appear twice). */
export function tagView(index: RepositoryIndex): TagView {
  let view = tagViews.get(index);
  if (!view) {
    const byTag = new Map<string, Descriptor>();
    for (const m of index.manifests) {
      const tag = m.annotations?.[REF_NAME_ANNOTATION];
      if (tag !== undefined && !byTag.has(tag)) byTag.set(tag, m);
    }
    view = { sorted: [...byTag.keys()].sort(compareLexical), byTag };
    tagViews.set(index, view);
  }
  return view;
}

/** Code-point order, as the distribution spec's lexical order of tags and repositories. */
export function compareLexical(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
