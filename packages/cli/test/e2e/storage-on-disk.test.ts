/**
 * The storage folder read directly, as an operator's tools would: every repository is an OCI image layout that
 * skopeo's `oci:` transport and umoci open, and every blob hashes to its name.
 */
import assert from 'node:assert/strict';
import { copyFile, link, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { ClientSandbox, isRoot, makeImage, makeIndex, skipUnlessPrograms, writeOciLayout, type ImageContent } from '../helpers/images.js';
import { DEST_PLAIN, PLAIN, readDirCopy, reportIfServerDied } from './clients.js';
import { checkOciLayout, checkStorageRoot, tagsOnDisk } from './oci-layout-check.js';

/**
 * A copy of a live repository folder for tools that write into any layout they open (umoci makes a temp folder
 * inside it): blobs are hard links (cheap, and blobs are never rewritten in place), index.json and oci-layout
 * real copies so nothing can change the live ones. The registry's `.uploads` is left out.
 */
async function linkedCopy(source: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const entry of await readdir(source, { withFileTypes: true })) {
    if (entry.name === '.uploads') continue;
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) {
      await linkedCopy(from, to);
    } else if (entry.isFile() && from.includes('/blobs/')) {
      await link(from, to).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV') throw err;
        await copyFile(from, to);
      });
    } else if (entry.isFile()) {
      await copyFile(from, to);
    }
  }
}

/** Every path under `dir`, for a before/after comparison. */
async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

describe('storage folder read directly', { skip: skipUnlessPrograms('skopeo', 'umoci') }, () => {
  let server: RunningServer;
  let clients: ClientSandbox;
  let app: ImageContent;

  before(async () => {
    server = await startServer();
    clients = await ClientSandbox.create('zot-e2e-disk-');
    app = makeImage({ layers: 2, layerSize: 120_000 });
    const arm = makeImage({ layers: 1, platform: { os: 'linux', architecture: 'arm64' } });
    const amd = makeImage({ layers: 1, platform: { os: 'linux', architecture: 'amd64' } });
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [
      { tag: 'app', content: app },
      { tag: 'multi', content: makeIndex([amd, arm]) },
    ]);
    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:app`, `docker://${server.host}/disk/app:v1`);
    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:app`, `docker://${server.host}/disk/app:v1-again`);
    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:app`, `docker://${server.host}/disk/nested/deeper/app:v1`);
    await clients.skopeo('copy', DEST_PLAIN, '--format', 'v2s2', `oci:${layout}:app`, `docker://${server.host}/disk/docker:v1`);
    await clients.skopeo('copy', DEST_PLAIN, '--all', `oci:${layout}:multi`, `docker://${server.host}/disk/multi:v1`);
  });

  after(async () => {
    reportIfServerDied(server);
    await server?.stop();
    await clients?.cleanup();
  });

  it('every repository folder is a valid OCI image layout whose blobs hash to their names', async () => {
    const { repositories, problems } = await checkStorageRoot(server.rootDirectory);
    for (const expected of ['disk/app', 'disk/nested/deeper/app', 'disk/docker', 'disk/multi']) {
      assert.ok(repositories.includes(expected), `${expected} is a layout (found ${repositories.join(', ')})`);
    }
    assert.deepEqual(problems, []);
    const tags = await tagsOnDisk(server.rootDirectory, 'disk/app');
    assert.equal(tags.get('v1'), app.descriptor.digest);
    assert.equal(tags.get('v1-again'), app.descriptor.digest);
    const layoutFile = JSON.parse(await readFile(join(server.rootDirectory, 'disk/app/oci-layout'), 'utf8')) as unknown;
    assert.deepEqual(layoutFile, { imageLayoutVersion: '1.0.0' });
  });

  it('skopeo reads a repository folder with the oci: transport', async () => {
    const reference = `oci:${join(server.rootDirectory, 'disk/nested/deeper/app')}:v1`;
    const inspected = JSON.parse((await clients.skopeo('inspect', reference)).stdout) as { Digest: string; Layers: string[] };
    assert.equal(inspected.Digest, app.descriptor.digest);
    assert.deepEqual(
      inspected.Layers,
      app.layers.map((l) => l.descriptor.digest),
    );

    const out = await clients.makeDir('from-disk');
    await clients.skopeo('copy', `oci:${join(server.rootDirectory, 'disk/app')}:v1-again`, `dir:${out}`);
    const copy = await readDirCopy(out);
    assert.ok(copy.manifest.equals(app.manifest), 'the manifest on disk is the pushed bytes');
    assert.equal(copy.blobs.size, 1 + app.layers.length);
  });

  it('umoci stats and unpacks a hard-linked copy of a repository folder', async () => {
    const live = join(server.rootDirectory, 'disk/app');
    const before = await listTree(live);
    const copy = join(await clients.makeDir('umoci'), 'layout');
    await linkedCopy(live, copy);

    const stat = JSON.parse((await clients.umoci('stat', '--json', '--image', `${copy}:v1`)).stdout) as {
      history: Array<{ layer: { digest: string } | null }>;
    };
    assert.deepEqual(
      stat.history.map((entry) => entry.layer?.digest),
      app.layers.map((l) => l.descriptor.digest),
    );

    const bundle = join(await clients.makeDir('bundle'), 'b');
    await clients.umoci('unpack', ...(isRoot ? [] : ['--rootless']), '--image', `${copy}:v1`, bundle);
    for (const layer of app.layers) {
      for (const file of layer.files) {
        const unpacked = await readFile(join(bundle, 'rootfs', file.name));
        assert.ok(unpacked.equals(file.data), `${file.name} unpacked byte for byte`);
      }
    }
    assert.deepEqual(await listTree(live), before, 'the live repository folder was not touched');
    assert.deepEqual(await checkOciLayout(live), []);
  });

  it('stays a valid layout after skopeo delete', async () => {
    const doomedLayout = await clients.makeDir('doomed');
    const doomed = makeImage({ layers: 1 });
    await writeOciLayout(doomedLayout, [{ tag: 'x', content: doomed }]);
    await clients.skopeo('copy', DEST_PLAIN, `oci:${doomedLayout}:x`, `docker://${server.host}/disk/app:doomed`);
    assert.equal((await tagsOnDisk(server.rootDirectory, 'disk/app')).get('doomed'), doomed.descriptor.digest);

    await clients.skopeo('delete', PLAIN, `docker://${server.host}/disk/app:doomed`);

    const index = JSON.parse(await readFile(join(server.rootDirectory, 'disk/app/index.json'), 'utf8')) as {
      manifests: Array<{ digest: string }>;
    };
    assert.ok(!index.manifests.some((m) => m.digest === doomed.descriptor.digest), 'index.json no longer lists the deleted manifest');
    assert.equal((await tagsOnDisk(server.rootDirectory, 'disk/app')).get('v1'), app.descriptor.digest);
    assert.deepEqual(await checkOciLayout(join(server.rootDirectory, 'disk/app')), []);
  });
});
