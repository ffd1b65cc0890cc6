/** Shared pieces of the end-to-end tests: reading `dir:` copies, finding request records in the server log. */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../helpers/images.js';

/** Flags that make skopeo talk plain HTTP to the test registry. */
export const SRC_PLAIN = '--src-tls-verify=false';
export const DEST_PLAIN = '--dest-tls-verify=false';
export const PLAIN = '--tls-verify=false';

export interface DirCopy {
  manifest: Buffer;
  manifestDigest: string;
  /** Blob digests (sha256:...) present in the folder. */
  blobs: Set<string>;
}

/**
 * Reads what `skopeo copy ... dir:OUT` wrote (manifest.json, blobs named by hex digest, version) and checks
 * that every blob file hashes to its name.
 */
export async function readDirCopy(dir: string): Promise<DirCopy> {
  const manifest = await readFile(join(dir, 'manifest.json'));
  const blobs = new Set<string>();
  for (const name of await readdir(dir)) {
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    const digest = sha256(await readFile(join(dir, name)));
    assert.equal(digest, `sha256:${name}`, `blob file ${name} in ${dir} hashes to its name`);
    blobs.add(digest);
  }
  return { manifest, manifestDigest: sha256(manifest), blobs };
}

/** The digests a manifest references (config and layers). */
export function referencedBlobs(manifest: Buffer): string[] {
  const parsed = JSON.parse(manifest.toString('utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
  return [parsed.config.digest, ...parsed.layers.map((layer) => layer.digest)];
}

type LogRecord = Record<string, unknown>;

function flatten(record: unknown, out: unknown[] = []): unknown[] {
  if (record && typeof record === 'object') {
    for (const value of Object.values(record as Record<string, unknown>)) flatten(value, out);
  } else {
    out.push(record);
  }
  return out;
}

/**
 * Request log records whose URL contains `urlPart` and whose status is `status`. Field names vary between
 * loggers (url/path/req.url, status/statusCode/res.statusCode), so this looks at every value of each record.
 */
export function findRequestRecords(records: LogRecord[], urlPart: string, status: number): LogRecord[] {
  return records.filter((record) => {
    const values = flatten(record);
    const hasUrl = values.some((value) => typeof value === 'string' && value.includes(urlPart));
    const statusValues = ['status', 'statusCode'].flatMap((key) => {
      const found: unknown[] = [];
      const visit = (obj: unknown): void => {
        if (!obj || typeof obj !== 'object') return;
        for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
          if (k === key) found.push(v);
          visit(v);
        }
      };
      visit(record);
      return found;
    });
    return hasUrl && statusValues.some((value) => Number(value) === status);
  });
}
