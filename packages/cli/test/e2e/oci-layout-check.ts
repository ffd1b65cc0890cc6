/**
 * Checks a registry storage folder from the outside, the way an operator's tools would see it: every repository
 * folder must be a valid OCI image layout (image-spec `image-layout.md`): an `oci-layout` file, an `index.json`
 * image index, and content-addressed blobs that hash to their names.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';

const DIGEST = /^(sha256):([a-f0-9]{64})$|^(sha512):([a-f0-9]{128})$/;
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
/** Folders inside a repository that are the layout's own (or the registry's upload area), never repositories. */
const NOT_REPOSITORIES = new Set(['blobs', '.uploads']);

/** Repository names (relative paths) under `root`: every folder holding an `oci-layout` file. */
export async function findRepositories(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    if (entries.some((entry) => entry.isFile() && entry.name === 'oci-layout')) found.push(relative(root, dir));
    for (const entry of entries) {
      if (entry.isDirectory() && !NOT_REPOSITORIES.has(entry.name)) await walk(join(dir, entry.name));
    }
  };
  await walk(root);
  return found.sort();
}

async function hashFile(path: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

interface DescriptorLike {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  annotations?: unknown;
}

/** Returns the problems found in one repository folder (empty when it is a valid OCI image layout). */
export async function checkOciLayout(dir: string): Promise<string[]> {
  const problems: string[] = [];

  try {
    const layout = JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')) as { imageLayoutVersion?: unknown };
    if (layout.imageLayoutVersion !== '1.0.0') problems.push(`oci-layout: imageLayoutVersion is ${String(layout.imageLayoutVersion)}`);
  } catch (err) {
    problems.push(`oci-layout: ${(err as Error).message}`);
  }

  // Every blob hashes to its name.
  const blobsDir = join(dir, 'blobs');
  const blobSizes = new Map<string, number>();
  try {
    for (const algorithm of await readdir(blobsDir)) {
      for (const name of await readdir(join(blobsDir, algorithm))) {
        const path = join(blobsDir, algorithm, name);
        const info = await stat(path);
        if (!info.isFile()) {
          problems.push(`blobs/${algorithm}/${name}: not a regular file`);
          continue;
        }
        const digest = `${algorithm}:${name}`;
        if (!DIGEST.test(digest)) {
          problems.push(`blobs/${algorithm}/${name}: not a digest name`);
          continue;
        }
        const actual = await hashFile(path, algorithm);
        if (actual !== name) problems.push(`blobs/${algorithm}/${name}: content hashes to ${actual}`);
        blobSizes.set(digest, info.size);
      }
    }
  } catch (err) {
    problems.push(`blobs: ${(err as Error).message}`);
  }

  const readBlobJson = async (digest: string): Promise<Record<string, unknown> | undefined> => {
    const [algorithm, hex] = digest.split(':') as [string, string];
    try {
      return JSON.parse(await readFile(join(blobsDir, algorithm, hex), 'utf8')) as Record<string, unknown>;
    } catch (err) {
      problems.push(`${digest}: cannot read as JSON (${(err as Error).message})`);
      return undefined;
    }
  };

  const checkDescriptor = (
    where: string,
    descriptor: DescriptorLike,
  ): descriptor is { mediaType: string; digest: string; size: number } => {
    const ok =
      typeof descriptor.mediaType === 'string' &&
      typeof descriptor.digest === 'string' &&
      DIGEST.test(descriptor.digest) &&
      typeof descriptor.size === 'number' &&
      Number.isInteger(descriptor.size) &&
      descriptor.size >= 0;
    if (!ok) {
      problems.push(`${where}: malformed descriptor ${JSON.stringify(descriptor)}`);
      return false;
    }
    const size = blobSizes.get(descriptor.digest as string);
    if (size === undefined) problems.push(`${where}: blob ${String(descriptor.digest)} is missing`);
    else if (size !== descriptor.size)
      problems.push(`${where}: ${String(descriptor.digest)} is ${size} bytes, descriptor says ${String(descriptor.size)}`);
    return size !== undefined;
  };

  // Descends through indexes and manifests: everything a tagged or untagged entry references must be present.
  const checked = new Set<string>();
  const checkReferenced = async (where: string, descriptor: { mediaType: string; digest: string }): Promise<void> => {
    if (checked.has(descriptor.digest)) return;
    checked.add(descriptor.digest);
    if (MANIFEST_TYPES.has(descriptor.mediaType)) {
      const manifest = await readBlobJson(descriptor.digest);
      if (!manifest) return;
      if (manifest.schemaVersion !== 2) problems.push(`${where}: manifest schemaVersion ${String(manifest.schemaVersion)}`);
      checkDescriptor(`${where} config`, (manifest.config ?? {}) as DescriptorLike);
      const layers = Array.isArray(manifest.layers) ? (manifest.layers as DescriptorLike[]) : [];
      for (const [i, layer] of layers.entries()) checkDescriptor(`${where} layer ${i}`, layer);
    } else if (INDEX_TYPES.has(descriptor.mediaType)) {
      const index = await readBlobJson(descriptor.digest);
      if (!index) return;
      const children = Array.isArray(index.manifests) ? (index.manifests as DescriptorLike[]) : [];
      for (const [i, child] of children.entries()) {
        if (checkDescriptor(`${where} manifests[${i}]`, child)) await checkReferenced(`${where} manifests[${i}]`, child);
      }
    }
  };

  let index: Record<string, unknown> | undefined;
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Record<string, unknown>;
  } catch (err) {
    problems.push(`index.json: ${(err as Error).message}`);
  }
  if (index) {
    if (index.schemaVersion !== 2) problems.push(`index.json: schemaVersion is ${String(index.schemaVersion)}`);
    if (index.mediaType !== undefined && index.mediaType !== 'application/vnd.oci.image.index.v1+json') {
      problems.push(`index.json: mediaType is ${String(index.mediaType)}`);
    }
    if (!Array.isArray(index.manifests)) {
      problems.push('index.json: manifests is not an array');
    } else {
      for (const [i, entry] of (index.manifests as DescriptorLike[]).entries()) {
        const where = `index.json manifests[${i}]`;
        if (entry.annotations !== undefined) {
          const annotations = entry.annotations as Record<string, unknown>;
          if (typeof annotations !== 'object' || annotations === null || Object.values(annotations).some((v) => typeof v !== 'string')) {
            problems.push(`${where}: annotations must map strings to strings`);
          }
        }
        if (checkDescriptor(where, entry)) await checkReferenced(where, entry);
      }
    }
  }
  return problems;
}

/** Checks every repository under `root`; returns `repo: problem` lines. */
export async function checkStorageRoot(root: string): Promise<{ repositories: string[]; problems: string[] }> {
  const repositories = await findRepositories(root);
  const problems: string[] = [];
  for (const repository of repositories) {
    for (const problem of await checkOciLayout(join(root, repository))) problems.push(`${repository}: ${problem}`);
  }
  return { repositories, problems };
}

/** The `org.opencontainers.image.ref.name` of each entry in a repository's index.json. */
export async function tagsOnDisk(root: string, repository: string): Promise<Map<string, string>> {
  const index = JSON.parse(await readFile(join(root, repository, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const tags = new Map<string, string>();
  for (const entry of index.manifests) {
    const tag = entry.annotations?.['org.opencontainers.image.ref.name'];
    if (tag !== undefined) tags.set(tag, entry.digest);
  }
  return tags;
}
