/**
 * Shared pieces of the storage tests (crash, concurrency, disk full, gc, scrub, dedupe, fuzz):
 * small images of random bytes pushed over plain HTTP the way clients do, a full check of a
 * registry's content over HTTP, and `zot-cli gc|scrub` run as the registry's user.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cliPath, serverUser } from '../helpers/server.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface TestBlob {
  digest: string;
  data: Buffer;
}

export interface TestImage {
  config: TestBlob;
  layers: TestBlob[];
  manifest: Buffer;
  digest: string;
}

export const sha256 = (data: Uint8Array | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export function blobOf(data: Buffer): TestBlob {
  return { digest: sha256(data), data };
}

/** An image with random layers (the registry does not look inside them). */
export function randomImage(layerSizes: readonly number[] = [4096, 20_000], note = ''): TestImage {
  const config = blobOf(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', note, nonce: randomBytes(8).toString('hex') })));
  const layers = layerSizes.map((size) => blobOf(randomBytes(size)));
  return imageOf(config, layers);
}

export function imageOf(config: TestBlob, layers: TestBlob[], annotations?: Record<string, string>): TestImage {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.data.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.data.length })),
      ...(annotations ? { annotations } : {}),
    }),
  );
  return { config, layers, manifest, digest: sha256(manifest) };
}

/** An HTTP answer that is not the expected one, with what the server said. */
export class UnexpectedStatus extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

async function expectStatus(res: Response, status: number, what: string): Promise<Response> {
  if (res.status !== status) throw new UnexpectedStatus(res.status, await res.text().catch(() => ''), what);
  return res;
}

/** Monolithic push (POST, then PUT with the bytes), or chunked (POST, PATCH pieces, PUT). */
export async function pushBlob(
  base: string,
  repository: string,
  blob: TestBlob,
  mode: 'monolithic' | 'chunked' | 'single' = 'monolithic',
): Promise<void> {
  if (mode === 'single') {
    const res = await fetch(`${base}/v2/${repository}/blobs/uploads/?digest=${blob.digest}`, { method: 'POST', body: blob.data });
    await expectStatus(res, 201, `POST ?digest= ${blob.digest}`);
    await res.arrayBuffer();
    return;
  }
  const start = await expectStatus(
    await fetch(`${base}/v2/${repository}/blobs/uploads/`, { method: 'POST' }),
    202,
    `POST upload ${repository}`,
  );
  await start.arrayBuffer();
  let location = new URL(start.headers.get('location')!, base);
  if (mode === 'chunked') {
    const step = Math.max(1, Math.ceil(blob.data.length / 3));
    for (let offset = 0; offset < blob.data.length; offset += step) {
      const piece = blob.data.subarray(offset, offset + step);
      const res = await fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + piece.length - 1}` },
        body: piece,
      });
      await expectStatus(res, 202, `PATCH ${offset}`);
      await res.arrayBuffer();
      location = new URL(res.headers.get('location')!, base);
    }
    location.searchParams.set('digest', blob.digest);
    const res = await fetch(location, { method: 'PUT' });
    await expectStatus(res, 201, `PUT ${blob.digest}`);
    await res.arrayBuffer();
    return;
  }
  location.searchParams.set('digest', blob.digest);
  const res = await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: blob.data });
  await expectStatus(res, 201, `PUT ${blob.digest}`);
  await res.arrayBuffer();
}

export async function putManifest(base: string, repository: string, reference: string, manifest: Buffer): Promise<void> {
  const res = await fetch(`${base}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': OCI_MANIFEST },
    body: manifest,
  });
  await expectStatus(res, 201, `PUT manifest ${repository}:${reference}`);
  await res.arrayBuffer();
}

export async function pushImage(
  base: string,
  repository: string,
  tag: string,
  image: TestImage,
  mode: 'monolithic' | 'chunked' | 'single' = 'monolithic',
): Promise<void> {
  for (const blob of [image.config, ...image.layers]) await pushBlob(base, repository, blob, mode);
  await putManifest(base, repository, tag, image.manifest);
}

/** GETs a blob and checks it hashes to its digest. */
export async function pullBlob(base: string, repository: string, digest: string): Promise<Buffer> {
  const res = await expectStatus(await fetch(`${base}/v2/${repository}/blobs/${digest}`), 200, `GET blob ${repository}@${digest}`);
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(sha256(body), digest, `${repository}@${digest} hashes to its name`);
  return body;
}

/** Pulls the image under `reference` completely, checking every digest. */
export async function pullImage(base: string, repository: string, reference: string, expectedDigest?: string): Promise<void> {
  const res = await expectStatus(
    await fetch(`${base}/v2/${repository}/manifests/${reference}`, { headers: { accept: OCI_MANIFEST } }),
    200,
    `GET manifest ${repository}:${reference}`,
  );
  const manifest = Buffer.from(await res.arrayBuffer());
  if (expectedDigest) assert.equal(sha256(manifest), expectedDigest, `${repository}:${reference} is the pushed manifest`);
  const parsed = JSON.parse(manifest.toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
  for (const digest of [parsed.config.digest, ...parsed.layers.map((l) => l.digest)]) await pullBlob(base, repository, digest);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `zot-cli ARGS` as the registry's user (as an operator would beside the server). */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number; viaTerminal?: boolean } = {},
): Promise<CliResult> {
  const user = serverUser();
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  // `script` gives the command a pseudo-terminal: the way to see what an operator sees.
  const [command, argv] = options.viaTerminal
    ? ['script', ['-qec', [process.execPath, cliPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' '), '/dev/null']]
    : [process.execPath, [cliPath, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv as string[], {
      cwd: options.cwd ?? '/',
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A small deterministic PRNG (mulberry32), so "random" kill points are reproducible from a seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `work` over `items`, `concurrency` at a time. */
export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
