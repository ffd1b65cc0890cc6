/**
 * The registry operations of the current official suite (`conformance/api.go` and the Test*
 * helpers of `conformance/run.go`), each with the statuses, headers and bodies the suite
 * demands. A response the suite treats as "the registry does not support this optional API"
 * (errRegUnsupported) throws {@link RegistryUnsupported}; everything else is a hard failure.
 */
import assert from 'node:assert/strict';
import {
  RegistryUnsupported,
  algorithmOf,
  describeReply,
  digestOf,
  expectStatus,
  type Algorithm,
  type RegistryClient,
  type Reply,
} from './support.js';
import { MT, type Descriptor, type Flag, type TestData } from './datasets.js';

/** The smallest chunk the suite sends (its `chunkMin`). */
export const CHUNK_MIN = 1024;

export type Flags = ReadonlySet<Flag>;
const NO_FLAGS: Flags = new Set();

function blobPath(repo: string, digest: string): string {
  return `/v2/${repo}/blobs/${digest}`;
}

function manifestPath(repo: string, reference: string): string {
  return `/v2/${repo}/manifests/${reference}`;
}

function uploadsPath(repo: string): string {
  return `/v2/${repo}/blobs/uploads/`;
}

function requireLocation(reply: Reply, what: string): string {
  const location = reply.header('location');
  assert.ok(location, `${what} did not return a Location header: ${describeReply(reply)}`);
  return location;
}

/** The Location (resolved against the request it answered) with `digest` added to its query. */
function withDigest(location: string, base: URL, digest: string): string {
  const url = new URL(location, base);
  url.searchParams.set('digest', digest);
  return url.href;
}

/** If the registry sends Docker-Content-Digest, it must be the content's digest. */
export function verifyDigestHeader(reply: Reply, digest: string): void {
  const header = reply.header('docker-content-digest');
  if (header) assert.equal(header, digest, `Docker-Content-Digest mismatch: ${describeReply(reply)}`);
}

function expectHeader(reply: Reply, name: string, value: string): void {
  assert.equal(reply.header(name), value, `header ${name}: ${describeReply(reply)}`);
}

function expectBody(reply: Reply, body: Buffer): void {
  assert.ok(reply.body.equals(body), `body mismatch (expected ${body.length} bytes, got ${reply.body.length}): ${describeReply(reply)}`);
}

const OCTETS: Record<string, string> = { 'Content-Type': MT.octetStream };

/** GET the Location a push answered with: it must serve exactly the pushed bytes. */
export async function blobVerifyLocation(client: RegistryClient, base: URL, location: string, body: Buffer): Promise<void> {
  const reply = await client.send('GET', new URL(location, base).href);
  expectStatus(reply, 200);
  expectBody(reply, body);
}

function blobBytes(td: TestData, digest: string): Buffer {
  const bytes = td.blobs.get(digest);
  assert.ok(bytes, `test data has no blob ${digest}`);
  return bytes;
}

// ---- blob pushes ---------------------------------------------------------------------------

/** Monolithic push in the POST itself (`POST ?digest=` with the body). */
export async function blobPostOnly(
  client: RegistryClient,
  repo: string,
  digest: string,
  td: TestData,
  flags: Flags = NO_FLAGS,
): Promise<void> {
  const body = blobBytes(td, digest);
  const post = await client.send('POST', uploadsPath(repo), { query: { digest }, headers: OCTETS, body });
  if (flags.has('ExpectBadDigest')) {
    expectStatus(post, 400, 202);
  } else {
    expectStatus(post, 201, 202);
    requireLocation(post, 'blob POST');
  }
  if (post.status === 202) {
    // The registry opened a session instead: finish with a PUT, but report the API unsupported.
    const put = await client.send('PUT', withDigest(requireLocation(post, 'blob POST'), post.url, digest), { headers: OCTETS, body });
    expectStatus(put, flags.has('ExpectBadDigest') ? 400 : 201);
    throw new RegistryUnsupported('registry does not accept content in the POST; fell back to PUT');
  }
  if (flags.has('ExpectBadDigest')) return;
  verifyDigestHeader(post, digest);
  await blobVerifyLocation(client, post.url, requireLocation(post, 'blob POST'), body);
}

/** POST for a session, then PUT `?digest=` with the whole body. */
export async function blobPostPut(
  client: RegistryClient,
  repo: string,
  digest: string,
  td: TestData,
  flags: Flags = NO_FLAGS,
): Promise<void> {
  const body = blobBytes(td, digest);
  const post = await client.send('POST', uploadsPath(repo));
  expectStatus(post, 202);
  const location = requireLocation(post, 'blob POST');
  const put = await client.send('PUT', withDigest(location, post.url, digest), { headers: OCTETS, body });
  if (flags.has('ExpectBadDigest')) {
    expectStatus(put, 400);
    return;
  }
  expectStatus(put, 201);
  verifyDigestHeader(put, digest);
  await blobVerifyLocation(client, put.url, requireLocation(put, 'blob PUT'), body);
}

/** POST, one PATCH with the whole body and no Content-Range, then PUT `?digest=`. */
export async function blobPatchStream(
  client: RegistryClient,
  repo: string,
  digest: string,
  td: TestData,
  flags: Flags = NO_FLAGS,
): Promise<void> {
  const body = blobBytes(td, digest);
  const post = await client.send('POST', uploadsPath(repo));
  expectStatus(post, 202);
  const patch = await client.send('PATCH', new URL(requireLocation(post, 'blob POST'), post.url).href, { headers: OCTETS, body });
  expectStatus(patch, 202);
  const location = requireLocation(patch, 'blob PATCH');
  const put = await client.send('PUT', withDigest(location, patch.url, digest), { headers: OCTETS });
  if (flags.has('ExpectBadDigest')) {
    expectStatus(put, 400);
    return;
  }
  expectStatus(put, 201);
  verifyDigestHeader(put, digest);
  await blobVerifyLocation(client, put.url, requireLocation(put, 'blob PUT'), body);
}

/**
 * POST, then PATCH chunks with Content-Range (three of them, at least CHUNK_MIN or the
 * registry's OCI-Chunk-Min-Length), then PUT `?digest=` (or the last chunk in the PUT with
 * `PutLastChunk`). With `OutOfOrderChunks` each chunk is preceded by a wrong one that must get
 * 416, after which a GET of the session must report the bytes received so far.
 * Returns the registry's OCI-Chunk-Min-Length header, if any.
 */
export async function blobPatchChunked(
  client: RegistryClient,
  repo: string,
  digest: string,
  td: TestData,
  flags: Flags = NO_FLAGS,
): Promise<string | undefined> {
  const body = blobBytes(td, digest);
  const post = await client.send('POST', uploadsPath(repo));
  expectStatus(post, 202);
  const minHeader = post.header('oci-chunk-min-length');
  let chunkSize = Math.floor(body.length / 3) + 1;
  if (minHeader) {
    const min = Number.parseInt(minHeader, 10);
    assert.ok(Number.isInteger(min), `OCI-Chunk-Min-Length is not a number: ${minHeader}`);
    chunkSize = Math.max(chunkSize, min);
  }
  chunkSize = Math.min(Math.max(chunkSize, CHUNK_MIN), body.length);
  let url = new URL(requireLocation(post, 'blob POST'), post.url);
  let lastReply: Reply = post;
  let lastByte = -1;
  while (lastByte < body.length - 1) {
    if (flags.has('OutOfOrderChunks')) {
      let badStart = lastByte + 1 + chunkSize;
      if (badStart >= body.length) badStart = 0;
      const badLast = Math.min(badStart + chunkSize - 1, body.length - 1);
      let badUrl = url.href;
      let method = 'PATCH';
      if (flags.has('PutLastChunk') && badLast === body.length - 1) {
        method = 'PUT';
        badUrl = withDigest(url.href, url, digest);
      }
      const bad = await client.send(method, badUrl, {
        headers: { ...OCTETS, 'Content-Range': `${badStart}-${badLast}` },
        body: body.subarray(badStart, badLast + 1),
      });
      expectStatus(bad, 416);
      if (bad.header('location')) url = new URL(bad.header('location')!, bad.url);
      // Recover: the session's status says where to continue.
      const status = await client.send('GET', url.href);
      expectStatus(status, 204);
      if (status.header('location')) url = new URL(status.header('location')!, status.url);
      const range = status.header('range') ?? '';
      assert.ok(range.startsWith('0-'), `upload status Range is missing the 0- prefix: ${describeReply(status)} (Range ${range})`);
      const rangeLast = Number.parseInt(range.slice(2), 10);
      assert.ok(Number.isInteger(rangeLast), `upload status Range cannot be parsed: ${range}`);
      if (lastByte >= 0) assert.equal(rangeLast, lastByte, `upload status Range: expected 0-${lastByte}, got ${range}`);
    }
    const start = lastByte + 1;
    lastByte = Math.min(start + chunkSize - 1, body.length - 1);
    const isPut = flags.has('PutLastChunk') && lastByte === body.length - 1;
    const reply = await client.send(isPut ? 'PUT' : 'PATCH', isPut ? withDigest(url.href, url, digest) : url.href, {
      headers: { ...OCTETS, 'Content-Range': `${start}-${lastByte}` },
      body: body.subarray(start, lastByte + 1),
    });
    if (isPut && flags.has('ExpectBadDigest')) {
      expectStatus(reply, 400);
      return minHeader;
    }
    expectStatus(reply, isPut ? 201 : 202);
    url = new URL(requireLocation(reply, isPut ? 'blob PUT' : 'blob PATCH'), reply.url);
    lastReply = reply;
  }
  if (!flags.has('PutLastChunk')) {
    const put = await client.send('PUT', withDigest(url.href, url, digest), { headers: OCTETS });
    if (flags.has('ExpectBadDigest')) {
      expectStatus(put, 400);
      return minHeader;
    }
    expectStatus(put, 201);
    url = new URL(requireLocation(put, 'blob PUT'), put.url);
    lastReply = put;
  }
  verifyDigestHeader(lastReply, digest);
  await blobVerifyLocation(client, lastReply.url, url.href, body);
  return minHeader;
}

/** POST a session, then DELETE it (204). */
export async function blobPostCancel(client: RegistryClient, repo: string): Promise<void> {
  const post = await client.send('POST', uploadsPath(repo));
  expectStatus(post, 202);
  const cancel = await client.send('DELETE', new URL(requireLocation(post, 'blob POST'), post.url).href, {
    headers: { 'Content-Length': '0' },
  });
  expectStatus(cancel, 204);
}

/**
 * Cross-repository mount (`?mount=&from=`, or anonymous without `from`). 201 is the mount; 202
 * means the registry opened a session instead: the blob is then pushed with a PUT and the mount
 * is reported unsupported.
 */
export async function blobMount(
  client: RegistryClient,
  repo: string,
  from: string | undefined,
  digest: string,
  td: TestData,
): Promise<void> {
  const body = blobBytes(td, digest);
  const post = await client.send('POST', uploadsPath(repo), { query: { mount: digest, ...(from ? { from } : {}) } });
  expectStatus(post, 201, 202);
  let location = requireLocation(post, 'blob mount POST');
  let final = post;
  let unsupported: RegistryUnsupported | undefined;
  if (post.status === 202) {
    const put = await client.send('PUT', withDigest(location, post.url, digest), { headers: OCTETS, body });
    expectStatus(put, 201);
    location = requireLocation(put, 'blob PUT');
    final = put;
    unsupported = new RegistryUnsupported(`registry returned status 202 to the mount, fell back to blob POST+PUT`);
  }
  verifyDigestHeader(final, digest);
  await blobVerifyLocation(client, final.url, location, body);
  if (unsupported) throw unsupported;
}

// ---- blob reads and deletes --------------------------------------------------------------

function blobLengthKnown(td: TestData | undefined, digest: string): Buffer | undefined {
  const bytes = td?.blobs.get(digest);
  if (bytes && (bytes.length > 0 || digest === digestOf(Buffer.alloc(0)))) return bytes;
  return undefined;
}

export async function blobHeadExists(client: RegistryClient, repo: string, digest: string, td?: TestData): Promise<void> {
  const reply = await client.send('HEAD', blobPath(repo, digest));
  expectStatus(reply, 200);
  expectBody(reply, Buffer.alloc(0));
  const bytes = blobLengthKnown(td, digest);
  if (bytes) expectHeader(reply, 'content-length', String(bytes.length));
  verifyDigestHeader(reply, digest);
}

export async function blobGetExistsFull(client: RegistryClient, repo: string, digest: string, td?: TestData): Promise<void> {
  const reply = await client.send('GET', blobPath(repo, digest));
  expectStatus(reply, 200);
  const bytes = blobLengthKnown(td, digest);
  if (bytes) {
    expectBody(reply, bytes);
    expectHeader(reply, 'content-length', String(bytes.length));
  }
  verifyDigestHeader(reply, digest);
}

/** DELETE a blob: 202 or 404; 405 means deletion is unsupported. */
export async function blobDelete(client: RegistryClient, repo: string, digest: string): Promise<void> {
  const reply = await client.send('DELETE', blobPath(repo, digest));
  expectStatus(reply, 202, 404, 405);
  if (reply.status === 405) throw new RegistryUnsupported(`blob delete returned ${reply.status}`);
}

/** Blob delete followed by the "atomic" check: a HEAD right after must be 404. */
export async function testDeleteBlob(client: RegistryClient, repo: string, digest: string): Promise<void> {
  await blobDelete(client, repo, digest);
  const head = await client.send('HEAD', blobPath(repo, digest));
  expectStatus(head, 404);
}

// ---- manifests -----------------------------------------------------------------------------

/** The manifest's mediaType field, or the OCI image type when it has none (the suite's detectMediaType). */
export function detectMediaType(body: Buffer): string {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { mediaType?: unknown };
    if (typeof doc.mediaType === 'string') return doc.mediaType;
  } catch {
    // not JSON: the default
  }
  return MT.ociImage;
}

export function detectSubject(body: Buffer): Descriptor | undefined {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { subject?: Descriptor };
    return doc.subject ?? undefined;
  } catch {
    return undefined;
  }
}

const MANIFEST_ACCEPT = { Accept: [MT.ociIndex, MT.ociImage] };

export async function manifestGet(client: RegistryClient, repo: string, reference: string): Promise<Reply> {
  return client.send('GET', manifestPath(repo, reference), { headers: MANIFEST_ACCEPT });
}

export async function manifestHead(client: RegistryClient, repo: string, reference: string): Promise<Reply> {
  return client.send('HEAD', manifestPath(repo, reference), { headers: MANIFEST_ACCEPT });
}

/**
 * PUT a manifest under a tag or digest: 201 with a Location that serves the same bytes,
 * OCI-Subject naming the subject when there is one, and a matching Docker-Content-Digest if sent.
 */
export async function manifestPut(
  client: RegistryClient,
  repo: string,
  reference: string,
  digest: string,
  td: TestData,
  flags: Flags = NO_FLAGS,
): Promise<void> {
  const body = td.manifests.get(digest);
  assert.ok(body, `test data has no manifest ${digest}`);
  const mediaType = detectMediaType(body);
  const put = await client.send('PUT', manifestPath(repo, reference), { headers: { 'Content-Type': mediaType }, body });
  if (flags.has('ExpectBadDigest')) {
    expectStatus(put, 400);
    return;
  }
  expectStatus(put, 201);
  const subject = detectSubject(body);
  if (subject) expectHeader(put, 'oci-subject', subject.digest);
  verifyDigestHeader(put, digest);
  const location = requireLocation(put, 'manifest PUT');
  const get = await client.send('GET', new URL(location, put.url).href, { headers: MANIFEST_ACCEPT });
  expectStatus(get, 200);
  expectHeader(get, 'content-type', mediaType);
  expectHeader(get, 'content-length', String(body.length));
  expectBody(get, body);
}

export async function manifestGetExists(
  client: RegistryClient,
  repo: string,
  reference: string,
  digest: string,
  td: TestData,
): Promise<void> {
  const reply = await manifestGet(client, repo, reference);
  expectStatus(reply, 200);
  const body = td.manifests.get(digest);
  if (body && body.length > 0) {
    expectBody(reply, body);
    expectHeader(reply, 'content-type', detectMediaType(body));
    expectHeader(reply, 'content-length', String(body.length));
    verifyDigestHeader(reply, digest);
  }
}

export async function manifestHeadExists(
  client: RegistryClient,
  repo: string,
  reference: string,
  digest: string,
  td: TestData,
): Promise<void> {
  const reply = await manifestHead(client, repo, reference);
  expectStatus(reply, 200);
  expectBody(reply, Buffer.alloc(0));
  const body = td.manifests.get(digest);
  if (body && body.length > 0) {
    expectHeader(reply, 'content-type', detectMediaType(body));
    expectHeader(reply, 'content-length', String(body.length));
    verifyDigestHeader(reply, digest);
  }
}

/** DELETE a tag or manifest: 202 or 404; 400 and 405 mean the registry does not allow it. */
export async function manifestDelete(client: RegistryClient, repo: string, reference: string): Promise<void> {
  const reply = await client.send('DELETE', manifestPath(repo, reference));
  expectStatus(reply, 202, 404, 400, 405);
  if (reply.status === 400 || reply.status === 405) throw new RegistryUnsupported(`manifest delete returned ${reply.status}`);
}

/** Delete followed by the "atomic" check: a HEAD of the same reference right after must be 404. */
export async function testDeleteManifest(client: RegistryClient, repo: string, reference: string): Promise<void> {
  await manifestDelete(client, repo, reference);
  const head = await manifestHead(client, repo, reference);
  expectStatus(head, 404);
}

// ---- listings ------------------------------------------------------------------------------

export interface ImageIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

/** The referrers API: 200, an OCI index with the right Content-Type, mediaType and schemaVersion. */
export async function referrersList(
  client: RegistryClient,
  repo: string,
  subject: string,
  artifactType?: string,
): Promise<{ index: ImageIndex; reply: Reply }> {
  const reply = await client.send('GET', `/v2/${repo}/referrers/${subject}`, artifactType ? { query: { artifactType } } : {});
  expectStatus(reply, 200);
  expectHeader(reply, 'content-type', MT.ociIndex);
  const index = reply.json<ImageIndex>();
  assert.ok(
    index.mediaType === MT.ociIndex && index.schemaVersion === 2,
    `referrers response is not a valid OCI index: ${describeReply(reply)}`,
  );
  assert.ok(Array.isArray(index.manifests), `referrers index has no manifests array: ${describeReply(reply)}`);
  return { index, reply };
}

/** The tag list: 200 with a body, or 404 (no such repository yet). */
export async function tagList(client: RegistryClient, repo: string, query: Record<string, string> = {}): Promise<string[]> {
  const reply = await client.send('GET', `/v2/${repo}/tags/list`, { query });
  expectStatus(reply, 200, 404);
  if (reply.status === 404) return [];
  const list = reply.json<{ name?: string; tags?: string[] | null }>();
  return list.tags ?? [];
}

// ---- composite flows (run.go) ------------------------------------------------------------

export type BlobApi = 'post+put' | 'post only' | 'stream' | 'chunked';
const BLOB_APIS: BlobApi[] = ['post+put', 'post only', 'stream', 'chunked'];

/**
 * Which push APIs have been exercised (overall and per digest algorithm), so that pushing the
 * data sets rotates through all of them, as the suite's TestPushBlobAny does.
 */
export class BlobApiRotation {
  private readonly tested = new Set<BlobApi>();
  private readonly testedByAlgo = new Map<Algorithm, Set<BlobApi>>();
  private readonly passed = new Set<BlobApi>();

  mark(api: BlobApi, algorithm: Algorithm, passed: boolean): void {
    this.tested.add(api);
    const byAlgo = this.testedByAlgo.get(algorithm) ?? new Set<BlobApi>();
    byAlgo.add(api);
    this.testedByAlgo.set(algorithm, byAlgo);
    if (passed) this.passed.add(api);
  }

  order(algorithm: Algorithm): BlobApi[] {
    const byAlgo = this.testedByAlgo.get(algorithm) ?? new Set<BlobApi>();
    const order: BlobApi[] = [];
    const push = (api: BlobApi): void => {
      if (!order.includes(api)) order.push(api);
    };
    BLOB_APIS.filter((api) => !this.tested.has(api)).forEach(push);
    BLOB_APIS.filter((api) => !byAlgo.has(api)).forEach(push);
    BLOB_APIS.filter((api) => this.passed.has(api)).forEach(push);
    BLOB_APIS.forEach(push);
    return order;
  }
}

export async function pushBlobWith(
  api: BlobApi,
  client: RegistryClient,
  repo: string,
  digest: string,
  td: TestData,
  flags: Flags = NO_FLAGS,
): Promise<void> {
  switch (api) {
    case 'post+put':
      return blobPostPut(client, repo, digest, td, flags);
    case 'post only':
      return blobPostOnly(client, repo, digest, td, flags);
    case 'stream':
      return blobPatchStream(client, repo, digest, td, flags);
    case 'chunked':
      await blobPatchChunked(client, repo, digest, td, flags);
  }
}

/** Pushes a blob with the least-exercised API first, falling back to the others (TestPushBlobAny). */
export async function pushBlobAny(
  rotation: BlobApiRotation,
  client: RegistryClient,
  repo: string,
  digest: string,
  td: TestData,
  flags: Flags = NO_FLAGS,
): Promise<void> {
  const algorithm = algorithmOf(digest);
  const errors: unknown[] = [];
  for (const api of rotation.order(algorithm)) {
    try {
      await pushBlobWith(api, client, repo, digest, td, flags);
      rotation.mark(api, algorithm, true);
      return;
    } catch (err) {
      rotation.mark(api, algorithm, false);
      errors.push(err);
    }
  }
  throw new AggregateError(errors, `every blob push API failed for ${digest}: ${errors.map((e) => (e as Error).message).join(' | ')}`);
}

/** Pushes a whole data set: blobs, then manifests by digest, then tags (TestPush). */
export async function pushDataSet(rotation: BlobApiRotation, client: RegistryClient, repo: string, td: TestData): Promise<void> {
  for (const digest of td.blobs.keys()) await pushBlobAny(rotation, client, repo, digest, td, td.pushFlags.get(digest));
  for (const digest of td.manOrder) await manifestPut(client, repo, digest, digest, td, td.pushFlags.get(digest));
  for (const [tag, digest] of td.tags) {
    if (td.tagPushed.has(tag)) continue;
    await manifestPut(client, repo, tag, digest, td, td.pushFlags.get(digest));
    td.tagPushed.add(tag);
  }
}

/** Best-effort removal of a data set (tags, manifests newest first, blobs) so the next one starts clean. */
export async function removeDataSet(client: RegistryClient, repo: string, td: TestData): Promise<void> {
  for (const tag of td.tagPushed) await client.send('DELETE', manifestPath(repo, tag));
  for (const digest of [...td.manOrder].reverse()) await client.send('DELETE', manifestPath(repo, digest));
  for (const digest of td.blobs.keys()) await client.send('DELETE', blobPath(repo, digest));
  td.tagPushed.clear();
}

/** Does `actual` list `goal` (same digest, media type, size, artifact type, and its annotations)? */
export function listsReferrer(actual: Descriptor[], goal: Descriptor): boolean {
  return actual.some(
    (d) =>
      d.digest === goal.digest &&
      d.mediaType === goal.mediaType &&
      d.size === goal.size &&
      (d.artifactType ?? '') === (goal.artifactType ?? '') &&
      Object.entries(goal.annotations ?? {}).every(([k, v]) => d.annotations?.[k] === v),
  );
}
