// Pushing again exactly the manifest a tag names needs only `create` and changes nothing; moving the tag needs `update`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaTypes, type Action, type Authorizer } from '../src/index.js';
import { testRegistry } from './support/http.js';

/** Everyone may do `allowed`, nothing else. */
function only(...allowed: Action[]): Authorizer {
  return { authorize: (_identity, _repository, action) => allowed.includes(action) };
}

test('a create-only caller may push the manifest a tag already names again, not move the tag', async () => {
  const { client, storage } = testRegistry({ authorizer: only('read', 'create') });
  const first = await client.pushImage('app', 'v1');
  const indexBefore = JSON.stringify(await storage.readIndex('app'));

  const again = await client.send('PUT', '/v2/app/manifests/v1', {
    body: first.manifest,
    headers: { 'content-type': MediaTypes.ociManifest },
  });
  assert.equal(again.status, 201);
  assert.equal(again.headers['docker-content-digest'], first.digest);
  assert.equal(again.outcome.action, 'create');
  assert.equal(JSON.stringify(await storage.readIndex('app')), indexBefore, 'the index is not rewritten');

  const other = Buffer.from(first.manifest.toString().replace('"schemaVersion":2', '"schemaVersion":2,"annotations":{"x":"y"}'));
  const moved = await client.send('PUT', '/v2/app/manifests/v1', { body: other, headers: { 'content-type': MediaTypes.ociManifest } });
  assert.equal(moved.status, 403);
  assert.equal(moved.outcome.action, 'update');
  const tag = await client.head('/v2/app/manifests/v1');
  assert.equal(tag.headers['docker-content-digest'], first.digest, 'the tag did not move');
});

test('with create and update, moving a tag succeeds and the outcome says update', async () => {
  const both = testRegistry({ authorizer: only('read', 'create', 'update') });
  const first = await both.client.pushImage('app', 'v1');
  const other = Buffer.from(first.manifest.toString().replace('"schemaVersion":2', '"schemaVersion":2,"annotations":{"x":"y"}'));
  const moved = await both.client.send('PUT', '/v2/app/manifests/v1', { body: other, headers: { 'content-type': MediaTypes.ociManifest } });
  assert.equal(moved.status, 201);
  assert.equal(moved.outcome.action, 'update');
});
