import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createHash, randomBytes } from 'node:crypto';
import { Registry, createRegistryHandler, type BlobVersions, type CorruptContentEvent, type StorageCapabilities } from '../src/index.js';
import { offThreadHasher } from '../src/util/hash-worker.js';
import { assertError, Client } from './support/http.js';
import { AgingStorage } from './support/maintenance.js';

function corruptSetup(options: { verifyBlobReads?: boolean } = {}) {
  const storage = new AgingStorage();
  const events: CorruptContentEvent[] = [];
  const registry = new Registry({ storage, onCorruptContent: (e) => events.push(e), ...options });
  const handler = createRegistryHandler({ registry });
  return { storage, registry, events, handler, client: new Client(handler) };
}

/** Reads a response body stream; resolves to the bytes received and how it ended. */
async function drain(body: unknown): Promise<{ bytes: Buffer; error?: Error }> {
  assert.ok(body instanceof Readable);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return { bytes: Buffer.concat(chunks) };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error: error as Error };
  }
}

describe('verify on read: a corrupt blob is never served as if it were whole', () => {
  it('a GET of a blob whose bytes changed ends with an error before its last bytes, then is refused up front', async () => {
    const { storage, events, handler, client } = corruptSetup();
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 1); // several chunks
    const digest = await client.pushBlob('repo', data);
    storage.corrupt('repo', digest);

    const response = await handler({ method: 'GET', path: `/v2/repo/blobs/${digest}`, query: new URLSearchParams(), headers: {} });
    assert.equal(response.status, 200, 'headers go out before the content is known to be bad');
    const { bytes, error } = await drain(response.body);
    assert.ok(error, 'the stream fails');
    assert.match(error.message, /corrupt/);
    assert.ok(bytes.length < data.length, `received ${bytes.length} of ${data.length} bytes: the last chunk is withheld`);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.repository, 'repo');
    assert.equal(events[0]!.digest, digest);
    assert.notEqual(events[0]!.actual, digest);

    const again = await client.get(`/v2/repo/blobs/${digest}`);
    assertError(again, 500, 'INTERNAL_ERROR');
    assert.match(again.body.toString(), /corrupt/);
  });

  it('a small corrupt blob is refused with 500 before anything is sent; pushing it again heals it', async () => {
    const { storage, client, registry } = corruptSetup();
    const data = Buffer.from('a layer');
    const digest = await client.pushBlob('repo', data);
    const ok = await client.get(`/v2/repo/blobs/${digest}`);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, data);

    storage.corrupt('repo', digest);
    // Small blobs are checked before the response starts: a clean error, not a cut stream.
    const refused = await client.get(`/v2/repo/blobs/${digest}`);
    assertError(refused, 500, 'INTERNAL_ERROR');
    assert.match(refused.body.toString(), /corrupt/);
    assert.equal(registry.isMarkedCorrupt('repo', digest), true);
    await client.pushBlob('repo', data);
    assert.equal(registry.isMarkedCorrupt('repo', digest), false);
    assert.deepEqual((await client.get(`/v2/repo/blobs/${digest}`)).body, data);
  });

  it('a corrupt manifest is answered 500, never with wrong bytes', async () => {
    const { storage, client, events } = corruptSetup();
    const image = await client.pushImage('repo', 'v1');
    storage.corrupt('repo', image.digest);
    // A fresh registry over the same storage: nothing cached.
    const fresh = new Client(createRegistryHandler({ registry: new Registry({ storage, onCorruptContent: (e) => events.push(e) }) }));
    assertError(await fresh.get('/v2/repo/manifests/v1'), 500, 'INTERNAL_ERROR');
    assertError(await fresh.get(`/v2/repo/manifests/${image.digest}`), 500, 'INTERNAL_ERROR');
    assert.equal(events.at(-1)?.digest, image.digest);
    const referrers = await fresh.get(`/v2/repo/referrers/${image.configDigest}`);
    assert.equal(referrers.status, 200, 'listing referrers skips it rather than failing');
  });

  it('range reads are served as stored (they cannot be verified); verification can be turned off', async () => {
    const { storage, client } = corruptSetup({ verifyBlobReads: false });
    const data = Buffer.from('0123456789');
    const digest = await client.pushBlob('repo', data);
    storage.corrupt('repo', digest);
    const whole = await client.get(`/v2/repo/blobs/${digest}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.body.length, 10);
    const range = await client.get(`/v2/repo/blobs/${digest}`, { headers: { range: 'bytes=0-3' } });
    assert.equal(range.status, 206);
    assert.equal(range.body.toString(), '0123');
  });

  it('with a storage blobVersion, a verified blob is not re-hashed until its version changes', async () => {
    // A storage whose versions the test controls: corrupting without a new version shows that
    // the read was trusted; a new version shows the trust ends there.
    class VersionedStorage extends AgingStorage implements BlobVersions {
      override readonly capabilities: StorageCapabilities = { blobVersions: this };
      versions = new Map<string, number>();
      async blobVersion(repository: string, digest: string): Promise<string | undefined> {
        if ((await this.statBlob(repository, digest)) === undefined) return undefined;
        return String(this.versions.get(`${repository}@${digest}`) ?? 0);
      }
    }
    const storage = new VersionedStorage();
    const events: CorruptContentEvent[] = [];
    const registry = new Registry({ storage, onCorruptContent: (e) => events.push(e) });
    const handler = createRegistryHandler({ registry });
    const client = new Client(handler);
    for (const size of [100, 3 * 1024 * 1024 + 5]) {
      const data = randomBytes(size);
      const digest = await client.pushBlob('repo', data);
      const key = `repo@${digest}`;
      storage.corrupt('repo', digest);
      // Corrupt before the first read: the first full read still hashes, so it is caught.
      const first = await handler({ method: 'GET', path: `/v2/repo/blobs/${digest}`, query: new URLSearchParams(), headers: {} });
      if (first.status === 200) assert.ok((await drain(first.body)).error, `size ${size}: first read fails`);
      else assert.equal(first.status, 500);
      assert.equal(events.at(-1)?.digest, digest);

      await client.pushBlob('repo', data); // heals it: same bytes again
      storage.versions.set(key, 1);
      assert.deepEqual((await client.get(`/v2/repo/blobs/${digest}`)).body, data, `size ${size}: verified read`);
      storage.corrupt('repo', digest); // behind the storage's back: same version
      const trusted = await client.get(`/v2/repo/blobs/${digest}`);
      assert.equal(trusted.status, 200);
      assert.notDeepEqual(trusted.body, data, `size ${size}: an unchanged version is served without hashing`);
      storage.versions.set(key, 2); // what any real write does
      const caught = await handler({ method: 'GET', path: `/v2/repo/blobs/${digest}`, query: new URLSearchParams(), headers: {} });
      if (caught.status === 200) assert.ok((await drain(caught.body)).error, `size ${size}: a new version is hashed again`);
      else assert.equal(caught.status, 500);
      assert.equal(registry.isMarkedCorrupt('repo', digest), true);
    }
  });

  it('a blob whose commit reported its version counts as verified: the upload hashed those very bytes', async () => {
    class CommitVersionStorage extends AgingStorage implements BlobVersions {
      override readonly capabilities: StorageCapabilities = { blobVersions: this };
      async blobVersion(repository: string, digest: string): Promise<string | undefined> {
        return (await this.statBlob(repository, digest)) === undefined ? undefined : 'v1';
      }
      override async commitUpload(repository: string, uploadId: string, digest: string, size: number): Promise<string> {
        await super.commitUpload(repository, uploadId, digest, size);
        return 'v1';
      }
    }
    const storage = new CommitVersionStorage();
    const client = new Client(createRegistryHandler({ registry: new Registry({ storage }) }));
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const digest = await client.pushBlob('repo', data);
    storage.corrupt('repo', digest); // behind the storage's back: same version
    const first = await client.get(`/v2/repo/blobs/${digest}`);
    assert.equal(first.status, 200);
    assert.notDeepEqual(first.body, data, 'the first read was served without hashing');
  });

  it('hashing off the event loop gives the same digests, for many streams at once, with flow control', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => randomBytes(i * 700_000 + 1));
    const digests = await Promise.all(
      inputs.map(async (data, i) => {
        const hasher = offThreadHasher(i % 3 === 0 ? 'sha512' : 'sha256');
        for (let at = 0; at < data.length; at += 256 * 1024) await hasher.update(data.subarray(at, at + 256 * 1024));
        return hasher.digest();
      }),
    );
    inputs.forEach((data, i) => {
      const algorithm = i % 3 === 0 ? 'sha512' : 'sha256';
      assert.equal(digests[i], `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`);
    });
    // A session's hasher: peeked between requests, flushed so it holds nothing, fed again.
    const data = randomBytes(3 * 1024 * 1024 + 99);
    const session = offThreadHasher('sha256');
    const other = offThreadHasher('sha256');
    let fed = 0;
    for (const end of [1, 70_000, 1024 * 1024, 2_500_000, data.length]) {
      await session.update(data.subarray(fed, end));
      await other.update(data.subarray(fed, end)); // interleaved streams keep their own state
      fed = end;
      session.flush();
      const expected = `sha256:${createHash('sha256').update(data.subarray(0, fed)).digest('hex')}`;
      assert.equal(await session.peek(), expected, `after ${fed} bytes`);
    }
    assert.equal(await session.digest(), await other.digest());
    await assert.rejects(session.peek(), /finished/);
    const aborted = offThreadHasher('sha256');
    await aborted.update(Buffer.alloc(1000));
    aborted.abort(); // nothing pending keeps the process alive afterwards
  });
});
