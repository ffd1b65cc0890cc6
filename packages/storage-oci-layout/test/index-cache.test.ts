import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { REF_NAME_ANNOTATION, type Descriptor, type RepositoryIndex } from '@zotjs/core';
import { OciLayoutStorage } from '../src/index.js';

const tag = (name: string) => (index: RepositoryIndex): RepositoryIndex => {
  const entry: Descriptor = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${name.padEnd(64, '0').slice(0, 64).replace(/[^0-9a-f]/g, 'a')}`,
    size: 2,
    annotations: { [REF_NAME_ANNOTATION]: name },
  };
  return { ...index, manifests: [...index.manifests, entry] };
};
const tags = (index: RepositoryIndex | undefined) => index?.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]) ?? [];

test('indexRevalidateMs: own writes at once, another process\'s within the window, none lost', async (t) => {
  const rootDirectory = await mkdtemp(join(tmpdir(), 'zot-index-cache-'));
  t.after(() => rm(rootDirectory, { recursive: true, force: true }));
  const server = new OciLayoutStorage({ rootDirectory, indexRevalidateMs: 300 });
  const other = new OciLayoutStorage({ rootDirectory }); // e.g. zot-cli gc, strict by default

  await server.updateIndex('repo', tag('a'));
  assert.deepEqual(tags(await server.readIndex('repo')), ['a'], 'own write seen at once');

  await other.updateIndex('repo', tag('b'));
  assert.deepEqual(tags(await other.readIndex('repo')), ['a', 'b'], 'the strict instance reads the file every time');
  assert.deepEqual(tags(await server.readIndex('repo')), ['a'], 'within the window the cached copy is served');
  await sleep(350);
  assert.deepEqual(tags(await server.readIndex('repo')), ['a', 'b'], 'after the window the change is seen');

  // An update always starts from the file, never from a stale cached copy.
  await other.updateIndex('repo', tag('c'));
  await server.updateIndex('repo', tag('d'));
  assert.deepEqual(tags(await server.readIndex('repo')), ['a', 'b', 'c', 'd']);
});
