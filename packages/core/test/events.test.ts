import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryError, collectGarbage, type RegistryEvent } from '../src/index.js';
import { HOUR, setup } from './support/maintenance.js';

/** Records every event of the registry, in order. */
function record(registry: ReturnType<typeof setup>['registry']): RegistryEvent[] {
  const seen: RegistryEvent[] = [];
  registry.events.on('*', (event) => seen.push(event));
  return seen;
}

const kinds = (events: RegistryEvent[]): string[] => events.map((e) => e.type);

describe('registry events', () => {
  it('the first push announces the repository, then the manifest with its tag, bytes and parsed form', async () => {
    const { registry, client } = setup();
    const seen = record(registry);
    const image = await client.pushImage('team/app', 'v1');
    assert.deepEqual(kinds(seen), ['repository.created', 'manifest.pushed']);
    const pushed = seen[1];
    assert.ok(pushed?.type === 'manifest.pushed');
    assert.equal(pushed.repository, 'team/app');
    assert.equal(pushed.digest, image.digest);
    assert.equal(pushed.tag, 'v1');
    assert.equal(pushed.previousDigest, undefined);
    assert.equal(pushed.size, image.manifest.length);
    assert.deepEqual(Buffer.from(pushed.bytes), image.manifest);
    assert.equal(pushed.manifest.blobs.length, 2);

    await client.pushImage('team/app', 'v2');
    assert.deepEqual(kinds(seen), ['repository.created', 'manifest.pushed', 'manifest.pushed'], 'a second push creates no repository');
  });

  it('moving a tag names the digest it left; pushing the same digest again does not', async () => {
    const { registry, client } = setup();
    const first = await client.pushImage('repo', 'latest');
    const seen = record(registry);
    const second = await client.pushImage('repo', 'latest');
    const moved = seen.find((e) => e.type === 'manifest.pushed');
    assert.ok(moved?.type === 'manifest.pushed');
    assert.equal(moved.digest, second.digest);
    assert.equal(moved.previousDigest, first.digest);

    seen.length = 0;
    const again = await client.send('PUT', '/v2/repo/manifests/latest', {
      body: second.manifest,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(again.status, 201);
    const same = seen.find((e) => e.type === 'manifest.pushed');
    assert.ok(same?.type === 'manifest.pushed');
    assert.equal(same.previousDigest, undefined);
  });

  it('a tag delete and a manifest delete are told apart; the manifest delete lists the tags that named it', async () => {
    const { registry, client } = setup();
    const image = await client.pushImage('repo', 'a');
    await client.send('PUT', '/v2/repo/manifests/b', {
      body: image.manifest,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    const seen = record(registry);
    assert.equal((await client.send('DELETE', '/v2/repo/manifests/a')).status, 202);
    assert.deepEqual(
      seen.map((e) => (e.type === 'tag.deleted' ? [e.type, e.tag, e.digest] : [e.type])),
      [['tag.deleted', 'a', image.digest]],
    );
    assert.equal((await client.send('DELETE', `/v2/repo/manifests/${image.digest}`)).status, 202);
    const deleted = seen[1];
    assert.ok(deleted?.type === 'manifest.deleted');
    assert.equal(deleted.digest, image.digest);
    assert.deepEqual(deleted.tags, ['b']);
    assert.equal(deleted.cause, 'request');
  });

  it('a GET of a manifest is a pull with the actor; a HEAD and the registry reading its own manifests are not', async () => {
    const { registry, client } = setup();
    const image = await client.pushImage('repo', 'v1');
    const seen = record(registry);
    assert.equal((await client.head('/v2/repo/manifests/v1')).status, 200);
    await registry.getManifest('repo', 'v1');
    assert.equal(seen.length, 0);
    assert.equal((await client.get('/v2/repo/manifests/v1')).status, 200);
    assert.equal(seen.length, 1);
    const pulled = seen[0];
    assert.ok(pulled?.type === 'manifest.pulled');
    assert.equal(pulled.digest, image.digest);
    assert.equal(pulled.reference, 'v1');
    assert.ok(pulled.actor, 'a request carries its actor');
  });

  it('a failed push announces nothing', async () => {
    const { registry, client } = setup();
    const seen = record(registry);
    const reply = await client.send('PUT', '/v2/repo/manifests/v1', {
      body: '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[]}',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(reply.status, 400);
    assert.deepEqual(seen, []);
  });

  it('a pre-push hook refuses a manifest before anything is stored; its RegistryError reaches the client', async () => {
    const { registry, client, storage } = setup();
    const seen = record(registry);
    const remove = registry.events.beforeManifestPush((attempt) => {
      if (!attempt.manifest.annotations?.['org.opencontainers.image.source']) {
        throw new RegistryError('MANIFEST_INVALID', 'missing annotation org.opencontainers.image.source');
      }
    });
    await assert.rejects(client.pushImage('repo', 'v1'), /missing annotation org\.opencontainers\.image\.source/);
    assert.equal(await storage.readIndex('repo').then((i) => i?.manifests.length ?? 0), 0, 'nothing listed');
    assert.deepEqual(kinds(seen), []);
    await client.pushImage('repo', 'v1', { annotations: { 'org.opencontainers.image.source': 'https://example.com/app' } });
    remove();
    await client.pushImage('repo', 'v2');
    assert.deepEqual(kinds(seen), ['repository.created', 'manifest.pushed', 'manifest.pushed']);
  });

  it('a listener that throws neither undoes the push nor silences the other listeners', async () => {
    const { registry, client } = setup();
    registry.events.on('manifest.pushed', () => {
      throw new Error('listener bug');
    });
    const seen = record(registry);
    await client.pushImage('repo', 'v1');
    assert.deepEqual(kinds(seen), ['repository.created', 'manifest.pushed']);
    assert.equal((await client.get('/v2/repo/manifests/v1')).status, 200);
  });

  it('retention announces the tags it removes and the manifests that left the index, with their cause', async () => {
    const { registry, client, storage } = setup();
    const keep = await client.pushImage('repo', 'v1');
    const drop = await client.pushImage('repo', 'temp');
    storage.ageAll(2 * HOUR);
    const seen = record(registry);
    await collectGarbage(storage, {
      delayMs: HOUR,
      retention: { delayMs: HOUR, policies: [{ repositories: ['repo'], keepTags: [{ patterns: ['^v\\d'] }] }] },
      events: registry.events,
    });
    const summary = seen.map((e) =>
      e.type === 'tag.deleted'
        ? `${e.type} ${e.tag}`
        : e.type === 'manifest.deleted'
          ? `${e.type} ${e.digest} ${e.cause} ${e.tags.join(',')}`
          : e.type,
    );
    assert.deepEqual(summary, ['tag.deleted temp', `manifest.deleted ${drop.digest} retention temp`]);
    assert.equal((await client.get(`/v2/repo/manifests/${keep.digest}`)).status, 200);
  });
});
