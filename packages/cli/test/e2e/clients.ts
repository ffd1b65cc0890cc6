/** Shared pieces of the end-to-end tests: reading `dir:` copies, finding request records in the server log. */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../helpers/images.js';
import type { RunningServer } from '../helpers/server.js';

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

/**
 * Request log records for a `method` answered with `status` that mention every string in `mentions` (repository,
 * digest, ...) in any field: the log names fields its own way (path, repository, digest), so this does not rely
 * on one field layout. A mount shows as a POST to the upload route answered 201 that names the blob's digest.
 */
export function findRequestRecords(records: LogRecord[], method: string, status: number, mentions: string[]): LogRecord[] {
  return records.filter((record) => {
    const statusValue = record.status ?? record.statusCode ?? (record.res as LogRecord | undefined)?.statusCode;
    const methodValue = record.method ?? (record.req as LogRecord | undefined)?.method;
    if (Number(statusValue) !== status || methodValue !== method) return false;
    const text = JSON.stringify(record);
    return mentions.every((mention) => text.includes(mention));
  });
}

/**
 * For `after` hooks: when the registry process died during the tests (clients then only see refused
 * connections), prints the end of its log so the cause (a crash's stack trace) is in the test output.
 */
export function reportIfServerDied(server: RunningServer | undefined): void {
  if (!server) return;
  const { exitCode, signalCode } = server.process;
  if (exitCode === null && signalCode === null) return;
  const lines = server.logs().trimEnd().split('\n');
  console.error(
    `zot-cli serve exited during the tests (code ${exitCode}, signal ${signalCode}); last log lines:\n${lines.slice(-60).join('\n')}`,
  );
}
