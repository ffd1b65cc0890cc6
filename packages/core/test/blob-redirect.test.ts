// A storage offering blobRedirectUrl: blob GETs become 307s to it, but only after the existence and
// authorization checks; HEAD, manifests and blobs marked corrupt are answered by the registry itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Registry,
  createRegistryHandler,
  type Action,
  type AuthResult,
  type Authenticator,
  type Authorizer,
  type BlobRedirects,
  type Identity,
  type StorageCapabilities,
} from '../src/index.js';
import { Client, assertError } from './support/http.js';
import { MemoryStorage } from '../src/testing/index.js';

class RedirectingStorage extends MemoryStorage implements BlobRedirects {
  override readonly capabilities: StorageCapabilities = { usage: this, blobRedirects: this };
  readonly asked: string[] = [];
  async blobRedirectUrl(repository: string, digest: string): Promise<string | undefined> {
    this.asked.push(`${repository}@${digest}`);
    return `https://store.example/${repository}/${digest}?signed=1`;
  }

  /** Damages a stored blob in place (same length), as a failing disk would. */
  rot(repository: string, digest: string): void {
    const data = this.repository(repository).blobs.get(digest)!;
    this.repository(repository).blobs.set(digest, Buffer.alloc(data.length, 0x41));
  }
}

const anonymous: Authenticator = {
  authenticate: async (): Promise<AuthResult> => ({ kind: 'anonymous' }),
  challenge: () => 'Basic realm="test"',
};
/** Anyone may read `public/*` and push anywhere; nobody may read anything else. */
const policy: Authorizer = {
  authorize: (_identity: Identity | undefined, repository: string, action: Action) => action !== 'read' || repository.startsWith('public/'),
  allowsAnonymousBase: () => true,
};

function setup(): { storage: RedirectingStorage; registry: Registry; client: Client } {
  const storage = new RedirectingStorage();
  const registry = new Registry({ storage });
  return { storage, registry, client: new Client(createRegistryHandler({ registry, authenticator: anonymous, authorizer: policy })) };
}

describe('blob GETs redirected to the storage', () => {
  it('answers 307 with Location and Docker-Content-Digest, also for ranged GETs', async () => {
    const { client, storage } = setup();
    const digest = await client.pushBlob('public/app', 'some layer bytes');
    const variants: Array<Record<string, string>> = [{}, { range: 'bytes=2-5' }];
    for (const headers of variants) {
      const reply = await client.get(`/v2/public/app/blobs/${digest}`, { headers });
      assert.equal(reply.status, 307);
      assert.equal(reply.headers['location'], `https://store.example/public/app/${digest}?signed=1`);
      assert.equal(reply.headers['docker-content-digest'], digest);
      assert.equal(reply.body.length, 0);
    }
    assert.equal(storage.asked.length, 2);
  });

  it('HEAD is answered by the registry; unknown blobs, unsatisfiable ranges and unauthorized reads never reach the storage', async () => {
    const { client, storage } = setup();
    const digest = await client.pushBlob('public/app', 'abc');
    const head = await client.head(`/v2/public/app/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '3');
    assertError(await client.get(`/v2/public/app/blobs/sha256:${'1'.repeat(64)}`), 404, 'BLOB_UNKNOWN');
    assert.equal((await client.get(`/v2/public/app/blobs/${digest}`, { headers: { range: 'bytes=10-20' } })).status, 416);
    const secret = await client.pushBlob('private/app', 'secret bytes');
    const denied = await client.get(`/v2/private/app/blobs/${secret}`);
    assert.ok(denied.status === 401 || denied.status === 403, `denied with ${denied.status}`);
    assert.deepEqual(storage.asked, []);
  });

  it('a blob marked corrupt is refused, not redirected', async () => {
    const { client, storage, registry } = setup();
    const data = Buffer.from('layer that will rot');
    const digest = await client.pushBlob('public/app', data);
    storage.rot('public/app', digest);
    const redirect = await registry.blobRedirect('public/app', digest);
    assert.ok(redirect, 'not known to be corrupt yet');
    // A streamed read finds the damage and marks it (the verifier fails the stream).
    await assert.rejects(async () => {
      for await (const _ of (await registry.readBlob('public/app', digest)).stream) void _;
    });
    assert.equal(registry.isMarkedCorrupt('public/app', digest), true);
    assert.equal((await client.get(`/v2/public/app/blobs/${digest}`)).status, 500);
  });
});
