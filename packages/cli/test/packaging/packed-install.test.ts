/**
 * The packages as users get them from npm: every folder under packages/ packed with pnpm (as it publishes),
 * the tarballs checked, then installed into an empty npm project (third-party dependencies from the npm
 * registry). There, `npx zot-cli serve` and the README's Koa embedding example each serve a registry that
 * skopeo pushes to and pulls from, run as the unprivileged server user; and without the optional S3
 * backend, a config that asks for it stops zot-cli with a message naming the package to install.
 */
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClientSandbox, makeImage, runCommand, skipUnlessPrograms, writeOciLayout, type ImageContent } from '../helpers/images.js';
import { freePort, makeTempDir, repoRoot, serverUser } from '../helpers/server.js';
import { DEST_PLAIN, SRC_PLAIN, readDirCopy } from '../e2e/clients.js';
import { codeBlockOf, packAll, packageFolders, startAsServerUser, unpack, waitUntilServing, type UserProcess } from './support.js';

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

describe('packed packages installed into an empty project', { skip: skipUnlessPrograms('skopeo', 'npm', 'tar') }, () => {
  let work: string;
  let app: string;
  let home: string;
  let tarballs: string[];
  let clients: ClientSandbox;
  let image: ImageContent;
  let layout: string;
  const running: UserProcess[] = [];

  before(async () => {
    work = makeTempDir('zot-packed-');
    const packed = join(work, 'tarballs');
    mkdirSync(packed);
    tarballs = await packAll(packageFolders(), packed);

    // An empty project, installed as a user would: the tarballs, and koa for the embedding example.
    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'zot-packed-install', private: true, type: 'module' }, null, 2)}\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false' };
    delete env.NODE_TEST_CONTEXT;
    // --ignore-scripts: no package here needs one, and third-party postinstalls (analytics) would reach out.
    await runCommand('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...tarballs, 'koa@^3'], {
      cwd: app,
      env,
      timeoutMs: 300_000,
    });
    // The registries write their storage folders here as the server user; npm's cache goes in `home`.
    home = join(work, 'home');
    mkdirSync(home);
    const user = serverUser();
    if (user) for (const dir of [app, home]) chownSync(dir, user.uid, user.gid);

    clients = await ClientSandbox.create('zot-packed-clients-');
    image = makeImage({ layers: 2, layerSize: 300_000 });
    layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
  });

  after(async () => {
    for (const proc of running) await proc.stop();
    await clients?.cleanup();
  });

  /** skopeo pushes the image to `host`/`repository` and pulls it back into a dir: copy with the same digests. */
  async function pushAndPull(host: string, repository: string): Promise<void> {
    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:v1`, `docker://${host}/${repository}:v1`);
    const out = await clients.makeDir('pulled');
    await clients.skopeo('copy', SRC_PLAIN, `docker://${host}/${repository}:v1`, `dir:${out}`);
    const copy = await readDirCopy(out);
    assert.equal(copy.manifestDigest, image.descriptor.digest, 'the pulled manifest is the pushed one, byte for byte');
    assert.deepEqual([...copy.blobs].sort(), [image.config.descriptor.digest, ...image.layers.map((l) => l.descriptor.digest)].sort());
  }

  it('packs one tarball per package folder: built code, README, LICENSE, real versions, source maps with their sources', async () => {
    const folders = packageFolders();
    assert.equal(tarballs.length, folders.length, `one tarball per folder under packages/: ${tarballs.join(', ')}`);
    const names = new Set(folders.map((folder) => (JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as PackageJson).name));
    for (const tarball of tarballs) {
      const { root, files } = await unpack(tarball, join(work, 'unpacked', basename(tarball, '.tgz')));
      const read = (path: string): string => readFileSync(join(root, path), 'utf8');
      const pkg = JSON.parse(read('package.json')) as PackageJson;
      const label = `${pkg.name} (${tarball})`;
      assert.ok(names.has(pkg.name), label);
      for (const required of ['package.json', 'README.md', 'LICENSE', 'dist/src/index.js', 'dist/src/index.d.ts']) {
        assert.ok(files.includes(required), `${label} holds ${required}`);
      }
      assert.match(read('LICENSE'), /Apache License\s+Version 2\.0, January 2004/, label);
      assert.deepEqual(
        files.filter((f) => f.startsWith('dist/test/') || f.startsWith('src/') || f.endsWith('.d.ts.map')),
        [],
        `${label}: no tests, sources or declaration maps`,
      );
      const specs = { ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies };
      assert.deepEqual(
        Object.entries(specs).filter(([, spec]) => spec.startsWith('workspace:')),
        [],
        `${label}: workspace versions replaced`,
      );
      for (const map of files.filter((f) => f.endsWith('.js.map'))) {
        const parsed = JSON.parse(read(map)) as { sources: string[]; sourcesContent?: string[] };
        assert.equal(parsed.sourcesContent?.length, parsed.sources.length, `${label}: ${map} carries its sources`);
      }
    }
  });

  it('npx zot-cli serve: a registry skopeo pushes to and pulls from', async () => {
    const port = await freePort();
    const config = {
      distSpecVersion: '1.1.0',
      storage: { rootDirectory: './zot-data' },
      http: { address: '127.0.0.1', port: String(port) },
      log: { level: 'info' },
    };
    writeFileSync(join(app, 'config.json'), JSON.stringify(config));
    const server = startAsServerUser('npx', ['zot-cli', 'serve', 'config.json'], { cwd: app, home });
    running.push(server);
    await waitUntilServing(server, (out) => out.includes('"msg":"zot-ts listening on'), `http://127.0.0.1:${port}/v2/`);
    await pushAndPull(`127.0.0.1:${port}`, 'packed/cli');
    const index = JSON.parse(readFileSync(join(app, 'zot-data', 'packed', 'cli', 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string }>;
    };
    assert.equal(index.manifests[0]?.digest, image.descriptor.digest, 'stored as an OCI image layout in ./zot-data');
    await server.stop();
  });

  it("the README's Koa embedding example, as written: a registry skopeo pushes to and pulls from, beside the app's routes", async () => {
    const program = codeBlockOf(readFileSync(join(repoRoot, 'README.md'), 'utf8'), '## Embedding');
    writeFileSync(join(app, 'koa-app.mjs'), program);
    const port = await freePort();
    const koa = startAsServerUser(process.execPath, ['koa-app.mjs'], { cwd: app, home, env: { PORT: String(port) } });
    running.push(koa);
    const url = `http://127.0.0.1:${port}`;
    await waitUntilServing(koa, (out) => out.includes(`listening on ${url}`), `${url}/v2/`);
    await pushAndPull(`127.0.0.1:${port}`, 'packed/koa');
    const repositories = await fetch(`${url}/repositories`);
    assert.deepEqual(await repositories.json(), ['packed/koa'], "the app's own route sees the pushed repository");
    const other = await fetch(`${url}/elsewhere`);
    assert.equal(await other.text(), 'my own routes still work');
    await koa.stop();
  });

  it('without the optional S3 backend installed, a storageDriver config stops zot-cli naming the package to install', async () => {
    rmSync(join(app, 'node_modules', '@zotjs', 'storage-s3'), { recursive: true, force: true });
    const config = {
      storage: {
        rootDirectory: './zot-data-s3',
        storageDriver: { name: 's3', bucket: 'registry', region: 'us-east-1', regionendpoint: 'http://127.0.0.1:9', forcepathstyle: true },
      },
      http: { address: '127.0.0.1', port: String(await freePort()) },
    };
    writeFileSync(join(app, 'config-s3.json'), JSON.stringify(config));
    const cli = startAsServerUser('npx', ['zot-cli', 'serve', 'config-s3.json'], { cwd: app, home });
    running.push(cli);
    const code = await cli.exited;
    assert.equal(code, 1, cli.output());
    assert.match(
      cli.output(),
      /zot-cli serve: storage\.storageDriver is set, but the S3 backend is not installed: run `npm install @zotjs\/storage-s3`/,
    );
  });
});
