/**
 * Garbage collection end to end: `zot-cli gc` beside a running server and gc in the server's
 * background. The race the grace period exists for (blob uploaded, gc runs, manifest pushed
 * after) always ends with a valid image; deleted images free their blobs; abandoned uploads go.
 */
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkStorageRoot } from '../e2e/oci-layout-check.js';
import { startServer } from '../helpers/server.js';
import { pullImage, pushBlob, pushImage, putManifest, randomImage, runCli, sleep, UnexpectedStatus, type TestImage } from './support.js';

interface GcJson {
  repositories: Array<{
    repository: string;
    blobs: Array<{ digest: string }>;
    manifests: Array<{ digest: string; reason: string }>;
    uploads: string[];
  }>;
  totals: { blobs: number; manifests: number; uploads: number };
}

const gcJson = async (configPath: string): Promise<GcJson> => {
  const run = await runCli(['gc', configPath, '--json']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  return JSON.parse(run.stdout) as GcJson;
};

/** Makes a blob file look an hour old (tests run as root, or as the file's owner). */
function age(root: string, repository: string, digest: string): void {
  const hourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(join(root, repository, 'blobs/sha256', digest.slice('sha256:'.length)), hourAgo, hourAgo);
}

describe('gc end to end', () => {
  it('blob uploaded, gc runs, manifest pushed after: the image is valid (gcDelay); once deleted its blobs go (dry run first)', async () => {
    const server = await startServer({ config: { storage: { gc: false, gcDelay: '1m' } } });
    try {
      const keep = randomImage([10_000]);
      await pushImage(server.url, 'gc/repo', 'keep', keep);
      const image = randomImage([30_000, 40_000]);
      for (const blob of [image.config, ...image.layers]) await pushBlob(server.url, 'gc/repo', blob);

      const first = await gcJson(server.configPath);
      assert.equal(first.totals.blobs, 0, 'blobs younger than gcDelay stay, though nothing references them yet');
      await putManifest(server.url, 'gc/repo', 'late', image.manifest);
      await pullImage(server.url, 'gc/repo', 'late', image.digest);

      // Delete the image; after gcDelay its blobs (and its manifest) are collected, nothing else.
      assert.equal((await fetch(`${server.url}/v2/gc/repo/manifests/${image.digest}`, { method: 'DELETE' })).status, 202);
      for (const digest of [image.digest, image.config.digest, ...image.layers.map((l) => l.digest)])
        age(server.rootDirectory, 'gc/repo', digest);
      const dry = await runCli(['gc', server.configPath, '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`gc/repo: would remove blob ${image.layers[0]!.digest}`));
      assert.match(dry.stdout, /gc \(dry run\)/);
      assert.equal(
        (await fetch(`${server.url}/v2/gc/repo/blobs/${image.layers[0]!.digest}`, { method: 'HEAD' })).status,
        200,
        'a dry run removes nothing',
      );
      const run = await runCli(['gc', server.configPath]);
      assert.equal(run.code, 0, run.stderr);
      for (const digest of [image.digest, image.config.digest, ...image.layers.map((l) => l.digest)]) {
        assert.match(run.stdout, new RegExp(`gc/repo: removed blob ${digest}`), `gc names ${digest}`);
        assert.equal((await fetch(`${server.url}/v2/gc/repo/blobs/${digest}`, { method: 'HEAD' })).status, 404);
      }
      assert.match(run.stdout, /removed 0 manifests, removed 4 blobs/);
      await pullImage(server.url, 'gc/repo', 'keep', keep.digest);
      assert.deepEqual((await checkStorageRoot(server.rootDirectory)).problems, []);
    } finally {
      await server.stop();
    }
  });

  it('zot-cli gc in a loop beside pushes of manifests whose blobs already look old: no accepted image loses a blob', async (t) => {
    const server = await startServer({ config: { storage: { gc: true, gcInterval: '1s', gcDelay: '10m' } } });
    try {
      let running = true;
      let passes = 0;
      const loop = (async () => {
        while (running) {
          await gcJson(server.configPath);
          passes += 1;
        }
      })();
      let refused = 0;
      const accepted: Array<{ tag: string; image: TestImage }> = [];
      for (let round = 0; round < 3 || passes < 2; round++) {
        await Promise.all(
          Array.from({ length: 6 }, async (_, i) => {
            const image = randomImage([5000 + i, 9000]);
            for (const blob of [image.config, ...image.layers]) {
              await pushBlob(server.url, 'gc/race', blob);
              age(server.rootDirectory, 'gc/race', blob.digest); // collectable right away
            }
            await sleep((i % 4) * 150);
            try {
              await putManifest(server.url, 'gc/race', `r${round}-${i}`, image.manifest);
              accepted.push({ tag: `r${round}-${i}`, image });
            } catch (err) {
              // gc won the race for a blob: the push is refused, never accepted with a hole.
              assert.ok(err instanceof UnexpectedStatus && err.status === 400 && err.body.includes('MANIFEST_BLOB_UNKNOWN'), String(err));
              refused += 1;
            }
          }),
        );
      }
      running = false;
      await loop;
      t.diagnostic(`${passes} zot-cli gc passes; ${accepted.length} pushes accepted, ${refused} refused`);
      for (const { tag, image } of accepted) await pullImage(server.url, 'gc/race', tag, image.digest);
      assert.deepEqual((await checkStorageRoot(server.rootDirectory)).problems, []);
    } finally {
      await server.stop();
    }
  });

  it('background gc removes stray blobs, untagged manifests and abandoned uploads', async () => {
    const server = await startServer({
      config: {
        storage: { gc: true, gcInterval: '500ms', gcDelay: '1s', retention: { delay: '1s' } },
        http: { limits: { uploadSessionExpiry: '1s' } },
      },
    });
    try {
      const tagged = randomImage([2000]);
      await pushImage(server.url, 'gc/bg', 'v1', tagged);
      const untagged = randomImage([3000]);
      await pushImage(server.url, 'gc/bg', 'tmp', untagged);
      assert.equal((await fetch(`${server.url}/v2/gc/bg/manifests/tmp`, { method: 'DELETE' })).status, 202); // the tag only
      const stray = randomImage([4000]).layers[0]!;
      await pushBlob(server.url, 'gc/bg', stray);
      const session = await fetch(`${server.url}/v2/gc/bg/blobs/uploads/`, { method: 'POST' });
      const location = new URL(session.headers.get('location')!, server.url);
      await fetch(location, { method: 'PATCH', headers: { 'content-range': '0-9' }, body: Buffer.alloc(10) });

      const deadline = Date.now() + 15_000;
      let gone = false;
      while (!gone && Date.now() < deadline) {
        await sleep(300);
        const statuses = await Promise.all([
          fetch(`${server.url}/v2/gc/bg/blobs/${stray.digest}`, { method: 'HEAD' }).then((r) => r.status),
          fetch(`${server.url}/v2/gc/bg/manifests/${untagged.digest}`, { method: 'HEAD' }).then((r) => r.status),
          fetch(location).then((r) => r.status),
        ]);
        gone = statuses.every((s) => s === 404);
      }
      assert.ok(gone, 'the stray blob, the untagged manifest and the abandoned session went');
      await pullImage(server.url, 'gc/bg', 'v1', tagged.digest);
      const logged = server.logRecords().filter((r) => r.msg === 'gc: pass done');
      assert.ok(logged.length >= 1, 'gc passes are logged');
    } finally {
      await server.stop();
    }
  });

  it('an old blob in one repository is kept while another repository references it (dedupe); leftovers of crashes go', async () => {
    const server = await startServer({ config: { storage: { gc: false, gcDelay: '1s' } } });
    try {
      const image = randomImage([8000]);
      await pushImage(server.url, 'gc/a', 'v1', image);
      await pushBlob(server.url, 'gc/b', image.layers[0]!); // same bytes, unreferenced in gc/b
      await sleep(1200);
      const report = await gcJson(server.configPath);
      const b = report.repositories.find((r) => r.repository === 'gc/b')!;
      assert.deepEqual(
        b.blobs.map((x) => x.digest),
        [image.layers[0]!.digest],
        'gc/b drops its unreferenced copy',
      );
      await pullImage(server.url, 'gc/a', 'v1', image.digest); // gc/a keeps the shared bytes
      // A temporary file a crash left behind, an hour old.
      const temp = join(server.rootDirectory, 'gc/a/.uploads/.tmp-deadbeefdeadbeef');
      await import('node:fs/promises').then((fs) => fs.writeFile(temp, 'half written'));
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(temp, hourAgo, hourAgo);
      const second = await runCli(['gc', server.configPath]);
      assert.match(second.stdout, /1 leftovers/);
    } finally {
      await server.stop();
    }
  });
});
