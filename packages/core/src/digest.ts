import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

/** Digest algorithms the registry verifies (image-spec descriptor.md "Registered algorithms"). */
export const DigestAlgorithms = {
  sha256: { hexLength: 64 },
  sha512: { hexLength: 128 },
} as const;

export type DigestAlgorithm = keyof typeof DigestAlgorithms;

/** A parsed, validated `algorithm:encoded` digest. `encoded` is lowercase hex. */
export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  /** The canonical string form, `algorithm:hex`. */
  readonly value: string;
}

// The image-spec grammar; a registry then only accepts the algorithms it can verify.
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Parses a digest string; undefined when it is not a digest this registry can verify. */
export function tryParseDigest(text: string): Digest | undefined {
  if (text.length > 200 || !DIGEST_GRAMMAR.test(text)) return undefined;
  const colon = text.indexOf(':');
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (!Object.hasOwn(DigestAlgorithms, algorithm)) return undefined;
  const spec = DigestAlgorithms[algorithm as DigestAlgorithm];
  if (hex.length !== spec.hexLength || !/^[a-f0-9]+$/.test(hex)) return undefined;
  return { algorithm: algorithm as DigestAlgorithm, hex, value: text };
}

/** Parses a digest or throws the spec's DIGEST_INVALID. */
export function parseDigest(text: string): Digest {
  const digest = tryParseDigest(text);
  if (!digest) throw new RegistryError('DIGEST_INVALID', `invalid or unsupported digest: ${truncate(text)}`);
  return digest;
}

export function isDigestLike(text: string): boolean {
  return text.includes(':');
}

export function digestOf(algorithm: DigestAlgorithm, data: Uint8Array): Digest {
  const hex = createHash(algorithm).update(data).digest('hex');
  return { algorithm, hex, value: `${algorithm}:${hex}` };
}

export function createDigester(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
