/**
 * A repository's index: the OCI image-layout `index.json` every backend stores per repository,
 * and the helpers backends share to create and read it.
 */

/** A descriptor as found in an image index (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: Platform;
  /** Other fields are kept as they were. */
  [field: string]: unknown;
}

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

/**
 * A repository's index: the OCI image-layout `index.json`. Every manifest the repository holds
 * has at least one entry; tags are entries carrying the `org.opencontainers.image.ref.name`
 * annotation (one entry per tag, so one digest may appear several times).
 */
export interface RepositoryIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export type IndexUpdate = (current: RepositoryIndex) => RepositoryIndex | undefined;

/** The annotation that carries a tag in an OCI image layout's index.json. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export function emptyIndex(): RepositoryIndex {
  return { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
}

/**
 * Parses a stored `index.json`. Backends only ever replace the file whole, so one that does not
 * parse as an image index was edited by hand: that is an error, never an empty repository.
 */
export function parseIndex(text: string, repository: string): RepositoryIndex {
  try {
    const index = JSON.parse(text) as RepositoryIndex;
    if (index && Array.isArray(index.manifests)) return index;
  } catch {
    // fall through
  }
  throw new Error(`index.json of repository ${repository} is not a valid image index`);
}
