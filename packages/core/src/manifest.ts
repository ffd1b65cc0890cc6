import { RegistryError } from './errors.js';
import { tryParseDigest } from './digest.js';
import { MediaTypes, bareMediaType, manifestKind, type ManifestKind } from './media-types.js';
import type { Descriptor } from './storage.js';

/** What core needs to know about a manifest; the bytes themselves are stored untouched. */
export interface ManifestInfo {
  /** The media type it is stored and served with. */
  mediaType: string;
  kind: ManifestKind;
  /** Blobs an image manifest references (config and layers); empty for an index. */
  blobs: Descriptor[];
  /** Manifests an index references; empty for an image manifest. */
  children: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  configMediaType?: string;
  annotations?: Record<string, string>;
}

/**
 * Parses and validates manifest bytes pushed with `contentType`. Throws MANIFEST_INVALID with a
 * reason a client can act on. Does not check that referenced content exists (core does that).
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ManifestInfo {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    // RangeError for absurdly deep JSON lands here too.
    throw invalid(`manifest is not valid JSON: ${err instanceof Error ? err.message.slice(0, 120) : 'parse error'}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  if (doc.schemaVersion !== 2) throw invalid('manifest schemaVersion must be 2');

  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('manifest mediaType must be a string');
  const header = bareMediaType(contentType);
  if (declared !== undefined && header !== undefined && header !== declared.toLowerCase() && !isGenericType(header)) {
    throw invalid(`manifest mediaType ${declared} does not match Content-Type ${header}`);
  }
  const mediaType = declared ?? (header && !isGenericType(header) ? header : guessMediaType(doc));
  const kind = manifestKind(mediaType);
  if (!kind) throw invalid(`unsupported manifest media type: ${mediaType.slice(0, 200)}`);

  const info: ManifestInfo = { mediaType, kind, blobs: [], children: [] };
  if (kind === 'image') {
    const config = descriptor(doc.config, 'config');
    if (!Array.isArray(doc.layers)) throw invalid('image manifest must have a layers array');
    const layers = doc.layers.map((layer, i) => descriptor(layer, `layers[${i}]`));
    info.blobs = [config, ...layers];
    info.configMediaType = config.mediaType;
  } else {
    if (!Array.isArray(doc.manifests)) throw invalid('image index must have a manifests array');
    info.children = doc.manifests.map((m, i) => descriptor(m, `manifests[${i}]`));
  }
  if (doc.subject !== undefined) info.subject = descriptor(doc.subject, 'subject');
  if (doc.artifactType !== undefined) {
    if (typeof doc.artifactType !== 'string') throw invalid('artifactType must be a string');
    info.artifactType = doc.artifactType;
  }
  if (doc.annotations !== undefined) info.annotations = stringMap(doc.annotations, 'annotations');
  return info;
}

/** The referrers API's `artifactType` for a manifest (spec "Listing Referrers"). */
export function referrerArtifactType(info: ManifestInfo): string | undefined {
  if (info.artifactType) return info.artifactType;
  return info.kind === 'image' ? info.configMediaType : undefined;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType.length === 0) throw invalid(`${where}.mediaType must be a non-empty string`);
  if (typeof digest !== 'string' || !tryParseDigest(digest)) throw invalid(`${where}.digest is not a valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a non-negative integer`);
  if (value.annotations !== undefined) stringMap(value.annotations, `${where}.annotations`);
  if (value.urls !== undefined && !(Array.isArray(value.urls) && value.urls.every((u) => typeof u === 'string'))) {
    throw invalid(`${where}.urls must be an array of strings`);
  }
  return value as Descriptor;
}

function stringMap(value: unknown, where: string): Record<string, string> {
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw invalid(`${where} must map strings to strings`);
  }
  return value as Record<string, string>;
}

function guessMediaType(doc: Record<string, unknown>): string {
  if (Array.isArray(doc.manifests)) return MediaTypes.ociIndex;
  return MediaTypes.ociManifest;
}

// Some clients send these for any body; they say nothing about the manifest's type.
function isGenericType(type: string): boolean {
  return type === 'application/json' || type === 'application/octet-stream' || type === 'text/plain';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}
