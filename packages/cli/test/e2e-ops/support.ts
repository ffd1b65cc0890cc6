/**
 * Shared pieces of the operations end-to-end tests (health, metrics, docs, audit) against a
 * real `zot-cli serve`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/server.js';

/** Where the tests leave artifacts (screenshots): `test-output/e2e-ops` in the checkout, or `$ZOT_TEST_OUTPUT/e2e-ops`. */
export function testOutputDir(): string {
  const dir = join(process.env.ZOT_TEST_OUTPUT ?? join(repoRoot, 'test-output'), 'e2e-ops');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The samples of a Prometheus text exposition: `name{labels}` -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

export async function scrape(url: string): Promise<{ text: string; samples: Map<string, number> }> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  const text = await res.text();
  return { text, samples: parseMetrics(text) };
}

/** Polls `check` until it returns true (or a value), failing after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | false | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== false && result !== undefined) return result;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A small image pushed over plain HTTP (for tests that only need content in the registry). */
export async function pushSmallImage(baseUrl: string, repository: string, tag: string): Promise<string> {
  const layer = Buffer.from(`layer of ${repository}:${tag} ${Date.now()}`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
  for (const blob of [layer, config]) {
    const res = await fetch(`${baseUrl}/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
    if (res.status !== 201) throw new Error(`blob push: ${res.status} ${await res.text()}`);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  const res = await fetch(`${baseUrl}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (res.status !== 201) throw new Error(`manifest push: ${res.status} ${await res.text()}`);
  return sha256(manifest);
}
