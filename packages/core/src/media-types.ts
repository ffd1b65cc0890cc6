/** Media types of manifests the registry accepts and serves (OCI image-spec and Docker v2). */
export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociLayout: 'application/vnd.oci.layout.header.v1+json',
} as const;

export type ManifestKind = 'image' | 'index';

const MANIFEST_KINDS: Record<string, ManifestKind> = {
  [MediaTypes.ociManifest]: 'image',
  [MediaTypes.dockerManifest]: 'image',
  [MediaTypes.ociIndex]: 'index',
  [MediaTypes.dockerManifestList]: 'index',
};

export function manifestKind(mediaType: string): ManifestKind | undefined {
  return MANIFEST_KINDS[mediaType];
}

export function isManifestMediaType(mediaType: string): boolean {
  return manifestKind(mediaType) !== undefined;
}

/** The media type without parameters (`; charset=...`), lowercased. */
export function bareMediaType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const bare = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return bare.length > 0 ? bare : undefined;
}
