import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { REF_NAME_ANNOTATION, type Descriptor, type RepositoryIndex } from '@zotjs/core';
import { OciLayoutStorage } from '../src/index.js';

const tag =
  (name: string) =>
  (index: RepositoryIndex): RepositoryIndex => {
    const entry: Descriptor = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${name
        .padEnd(64, '0')
        .slice(0, 64)
        .replace(/[^0-9a-f]/g, 'a')}`,
      size: 2,
      annotations: { [REF_NAME_ANNOTATION]: name },
    };
    return { ...index, manifests: [...index.manifests, entry] };
  };
const tags = (index: RepositoryIndex | undefined) => index?.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]) ?? [];

test("indexRevalidateMs: own writes at once, another process's within the window, none lost", async (t) => {
  const rootDirectory = await mkdtemp(join(tmpdir(), 'zot-index-cache-'));
  t.after(() => rm(rootDirectory, { recursive: true, force: true }));
  const server = new OciLayoutStorage({ rootDirectory, indexRevalidateMs: 300, watch: false });
  const other = new OciLayoutStorage({ rootDirectory, watch: false }); // e.g. zot-cli gc on NFS, strict

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

/** Polls until `check` passes (a watch event is delivered on a later turn of the event loop). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await sleep(10);
  }
  assert.fail(`never happened: ${what}`);
}

test("watch (default): cached index and blob sizes need no stat, and follow any process's changes", async (t) => {
  const rootDirectory = await mkdtemp(join(tmpdir(), 'zot-index-watch-'));
  t.after(() => rm(rootDirectory, { recursive: true, force: true }));
  const server = new OciLayoutStorage({ rootDirectory });
  const other = new OciLayoutStorage({ rootDirectory, watch: false }); // another process

  await server.updateIndex('repo', tag('a'));
  assert.deepEqual(tags(await server.readIndex('repo')), ['a'], 'own write seen at once');
  await other.updateIndex('repo', tag('b'));
  await eventually(async () => tags(await server.readIndex('repo')).includes('b'), "the other process's tag");

  // Blob sizes: cached (also "absent"), own writes seen at once, others' through the watch.
  const data = Buffer.from('blob bytes');
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  assert.equal(await server.statBlob('repo', digest), undefined);
  await server.putBlob('repo', digest, data);
  assert.equal(await server.statBlob('repo', digest), data.length, 'own put seen at once');
  assert.equal(await other.deleteBlob('repo', digest), true);
  await eventually(async () => (await server.statBlob('repo', digest)) === undefined, "the other process's delete");
  await other.putBlob('repo', digest, data);
  await eventually(async () => (await server.statBlob('repo', digest)) === data.length, "the other process's put");
  await writeFile(server.paths.blob('repo', digest), 'shorter'); // changed in place by hand
  await eventually(async () => (await server.statBlob('repo', digest)) === 7, 'an in-place change');
  assert.equal(await server.deleteBlob('repo', digest), true);
  assert.equal(await server.statBlob('repo', digest), undefined, 'own delete seen at once');
});

test('watch: a repository folder removed and made again by another process is watched anew', async (t) => {
  const rootDirectory = await mkdtemp(join(tmpdir(), 'zot-index-rewatch-'));
  t.after(() => rm(rootDirectory, { recursive: true, force: true }));
  const server = new OciLayoutStorage({ rootDirectory });
  const other = new OciLayoutStorage({ rootDirectory, watch: false });
  await server.updateIndex('repo', tag('a'));
  assert.deepEqual(tags(await server.readIndex('repo')), ['a']);
  await rm(server.paths.repository('repo'), { recursive: true });
  await eventually(async () => (await server.readIndex('repo')) === undefined, 'the removed repository');
  await other.updateIndex('repo', tag('b'));
  await eventually(async () => tags(await server.readIndex('repo')).join() === 'b', 'the new repository');
  await other.updateIndex('repo', tag('c'));
  await eventually(async () => tags(await server.readIndex('repo')).join() === 'b,c', 'a change in the new folder');
});
