import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { DirectoryWatch } from '../src/directory-watch.js';
import { LayoutPaths } from '../src/paths.js';

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(10);
  assert.ok(check(), what);
}

test('DirectoryWatch: a change in the folder moves its generation; past the limit the least recently asked folder is let go', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'zot-watch-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const [a, b, c] = ['a', 'b', 'c'].map((n) => join(root, n)) as [string, string, string];
  for (const dir of [a, b, c]) await mkdir(dir);
  const watch = new DirectoryWatch(2);
  t.after(() => watch.close());

  const ga = watch.generation(a)!;
  const gb = watch.generation(b)!;
  assert.equal(watch.generation(a), ga, 'unchanged folder, same generation');
  await writeFile(join(a, 'index.json'), '{}');
  await until(() => watch.generation(a) !== ga, 'a write in the folder is seen');
  const ga2 = watch.generation(a)!;

  // a was asked for last, so watching c lets b go: asking for b again starts a new watch.
  watch.generation(c);
  assert.equal(watch.generation(a), ga2, 'the recently used folder keeps its watch');
  const gb2 = watch.generation(b)!;
  assert.ok(gb2 > gb && gb2 > ga2, 'the evicted folder gets a fresh generation');
  assert.equal(watch.generation(join(root, 'missing')), undefined, 'a folder that does not exist is not watched');
});

test('LayoutPaths: a checked repository folder is remembered; reserved names stay refused', () => {
  const paths = new LayoutPaths('/srv/zot');
  assert.equal(paths.repository('library/alpine'), `/srv/zot${sep}library${sep}alpine`);
  assert.equal(paths.repository('library/alpine'), paths.repository('library/alpine'));
  assert.equal(paths.blob('library/alpine', `sha256:${'ab'.repeat(32)}`), `/srv/zot/library/alpine/blobs/sha256/${'ab'.repeat(32)}`);
  for (let i = 0; i < 2; i++) {
    assert.throws(() => paths.repository('a/blobs'), { code: 'NAME_INVALID' });
    assert.throws(() => paths.repository('a/index.json/b'), { code: 'NAME_INVALID' });
  }
  // More names than it remembers: still correct.
  for (let i = 0; i < 5000; i++) assert.equal(paths.repository(`r${i}`), `/srv/zot/r${i}`);
});
