/**
 * Deduplication: a 100 MiB layer pushed to ten repositories is stored once (hard links), each
 * repository stays a valid OCI image layout that skopeo reads, and deleting it from one
 * repository leaves the others intact.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkStorageRoot } from '../e2e/oci-layout-check.js';
import { hasProgram } from '../helpers/images.js';
import { startServer } from '../helpers/server.js';
import { blobOf, imageOf, pullBlob, pushBlob, putManifest, runCli, sleep, type TestBlob } from './support.js';

const MiB = 1024 * 1024;

/** Bytes used under `dir`, each hard-linked file counted once (what the disk really holds). */
function diskUsage(dir: string): number {
  const du = spawnSync('du', ['-s', '-B1', dir], { encoding: 'utf8' });
  assert.equal(du.status, 0, du.stderr);
  return Number(du.stdout.split(/\s/)[0]);
}

/** The same, counting every link as a copy (what the data would take without dedupe). */
function apparentUsage(dir: string): number {
  const du = spawnSync('du', ['-s', '-B1', '--count-links', dir], { encoding: 'utf8' });
  assert.equal(du.status, 0, du.stderr);
  return Number(du.stdout.split(/\s/)[0]);
}

describe('dedupe', () => {
  it('a 100 MiB layer pushed to ten repositories takes 100 MiB on disk', async (t) => {
    const server = await startServer({ config: { storage: { dedupe: true, gc: true, gcDelay: '1s', gcInterval: '1h' } } });
    try {
      const layer: TestBlob = blobOf(randomBytes(100 * MiB));
      const repositories = Array.from({ length: 10 }, (_, i) => `dedupe/r${i}`);
      const started = Date.now();
      for (const [i, repository] of repositories.entries()) {
        const config = blobOf(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', repo: i })));
        await pushBlob(server.url, repository, config);
        await pushBlob(server.url, repository, layer); // a full upload each time, not a mount
        await putManifest(server.url, repository, 'v1', imageOf(config, [layer]).manifest);
      }
      t.diagnostic(`10 x 100 MiB pushed in ${Date.now() - started} ms`);

      const used = diskUsage(server.rootDirectory);
      const apparent = apparentUsage(server.rootDirectory);
      t.diagnostic(`disk usage: ${(used / MiB).toFixed(1)} MiB (du), ${(apparent / MiB).toFixed(1)} MiB counting every link`);
      assert.ok(used < 105 * MiB, `stored once: ${used} bytes`);
      assert.ok(apparent > 1000 * MiB, 'ten repositories each hold the layer');
      const inodes = new Set(repositories.map((r) => statSync(join(server.rootDirectory, r, 'blobs/sha256', layer.digest.slice(7))).ino));
      assert.equal(inodes.size, 1, 'one inode behind the ten blob files');

      // Each repository is a valid OCI layout, readable by skopeo directly from disk.
      assert.deepEqual((await checkStorageRoot(server.rootDirectory)).problems, []);
      if (hasProgram('skopeo')) {
        const inspect = spawnSync('skopeo', ['inspect', `oci:${join(server.rootDirectory, 'dedupe/r3')}:v1`], { encoding: 'utf8' });
        assert.equal(inspect.status, 0, inspect.stderr);
        assert.equal((JSON.parse(inspect.stdout) as { Layers: string[] }).Layers[0], layer.digest);
      }

      // Deleting the image (and then its blobs, by gc) in one repository leaves the others intact.
      const manifest = await fetch(`${server.url}/v2/dedupe/r0/manifests/v1`, { method: 'HEAD' });
      assert.equal(
        (await fetch(`${server.url}/v2/dedupe/r0/manifests/${manifest.headers.get('docker-content-digest')}`, { method: 'DELETE' })).status,
        202,
      );
      await sleep(1100);
      const gc = await runCli(['gc', server.configPath]);
      assert.match(gc.stdout, new RegExp(`dedupe/r0: removed blob ${layer.digest} \\(100\\.0 MiB\\)`));
      assert.equal((await fetch(`${server.url}/v2/dedupe/r0/blobs/${layer.digest}`, { method: 'HEAD' })).status, 404);
      await pullBlob(server.url, 'dedupe/r9', layer.digest);
      assert.ok(diskUsage(server.rootDirectory) < 105 * MiB, 'still stored once');
    } finally {
      await server.stop();
    }
  });
});
