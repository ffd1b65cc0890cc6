/**
 * Disk full (ENOSPC) during uploads and index updates, on a small tmpfs: the client gets a 5xx
 * with a clear error, the partial data is removed, index.json stays valid and the server keeps
 * serving pulls (and pushes again once there is room).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, writeSync, rmSync, statfsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkStorageRoot } from '../e2e/oci-layout-check.js';
import { isRoot } from '../helpers/images.js';
import { giveToServerUser, startServer } from '../helpers/server.js';
import { blobOf, pullImage, pushImage, randomImage, sha256 } from './support.js';

const MiB = 1024 * 1024;

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

async function expectFull(res: Response, what: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 503, `${what}: ${res.status} ${text}`);
  const body = JSON.parse(text) as { errors: Array<{ code: string; message: string }> };
  assert.equal(body.errors[0]!.code, 'UNAVAILABLE');
  assert.match(body.errors[0]!.message, /storage is full/);
}

function sessionFiles(root: string, repository: string): string[] {
  try {
    return readdirSync(join(root, repository, '.uploads')).filter((n) => /^[0-9a-f-]{36}$/.test(n));
  } catch {
    return [];
  }
}

describe('disk full (ENOSPC) on a 16 MiB tmpfs', { skip: isRoot ? false : 'needs root to mount a tmpfs' }, () => {
  it('answers 503 with a clear error, removes the partial data, keeps index.json valid and keeps serving', async () => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'zot-enospc-'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0755', 'tmpfs', mountPoint]);
    assert.equal(mounted.status, 0, `mount: ${mounted.stderr}`);
    let stop: (() => Promise<unknown>) | undefined;
    try {
      const root = join(mountPoint, 'data');
      mkdirSync(root);
      giveToServerUser(mountPoint);
      const server = await startServer({ config: { storage: { rootDirectory: root, gc: false } } });
      stop = () => server.stop();

      const image = randomImage([200_000, 300_000]);
      await pushImage(server.url, 'full/ok', 'v1', image);
      const baseline = freeBytes(mountPoint);
      const big = blobOf(randomBytes(24 * MiB));

      // 1. One-request push (POST ?digest=): refused, session gone, space back.
      await expectFull(
        await fetch(`${server.url}/v2/full/big/blobs/uploads/?digest=${big.digest}`, { method: 'POST', body: big.data }),
        'POST ?digest=',
      );
      assert.deepEqual(sessionFiles(root, 'full/big'), [], 'no session left behind');
      assert.ok(freeBytes(mountPoint) >= baseline - MiB, 'the partial data was removed');

      // 2. A chunk that does not fit: refused; the session keeps only what was stored before it.
      const start = await fetch(`${server.url}/v2/full/big/blobs/uploads/`, { method: 'POST' });
      assert.equal(start.status, 202);
      const location = new URL(start.headers.get('location')!, server.url);
      const head = big.data.subarray(0, 1000);
      const first = await fetch(location, { method: 'PATCH', headers: { 'content-range': '0-999' }, body: head });
      assert.equal(first.status, 202);
      await expectFull(
        await fetch(location, {
          method: 'PATCH',
          headers: { 'content-range': `1000-${big.data.length - 1}` },
          body: big.data.subarray(1000),
        }),
        'PATCH',
      );
      const status = await fetch(location);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), '0-999', 'the session is back at its last complete chunk');
      assert.ok(freeBytes(mountPoint) >= baseline - MiB, 'the partial chunk was removed');
      // 3. Completing with a final body that does not fit: the same.
      const put = new URL(location);
      put.searchParams.set('digest', big.digest);
      await expectFull(
        await fetch(put, { method: 'PUT', headers: { 'content-range': `1000-${big.data.length - 1}` }, body: big.data.subarray(1000) }),
        'PUT',
      );
      assert.equal((await fetch(location, { method: 'DELETE' })).status, 204);
      assert.deepEqual(sessionFiles(root, 'full/big'), []);
      assert.equal(
        (await fetch(`${server.url}/v2/full/big/blobs/${big.digest}`, { method: 'HEAD' })).status,
        404,
        'nothing partial is visible',
      );

      // 4. Not even room for index.json: a manifest push is refused and the index stays valid.
      const filler = join(mountPoint, 'filler');
      const fd = openSync(filler, 'w');
      try {
        const block = Buffer.alloc(64 * 1024, 1);
        for (let size = block.length; size >= 512; size >>= 1) {
          try {
            for (;;) writeSync(fd, block, 0, size);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          }
        }
      } finally {
        closeSync(fd);
      }
      const indexBefore = readFileSync(join(root, 'full/ok/index.json'), 'utf8');
      await expectFull(
        await fetch(`${server.url}/v2/full/ok/manifests/v2`, {
          method: 'PUT',
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
          body: image.manifest,
        }),
        'PUT manifest',
      );
      assert.equal(readFileSync(join(root, 'full/ok/index.json'), 'utf8'), indexBefore, 'index.json untouched');
      // Pulls go on while the disk is full.
      await pullImage(server.url, 'full/ok', 'v1', image.digest);

      // 5. Room again: pushes work.
      rmSync(filler);
      const res = await fetch(`${server.url}/v2/full/ok/manifests/v2`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: image.manifest,
      });
      assert.equal(res.status, 201, await res.text());
      const small = randomImage([1000]);
      await pushImage(server.url, 'full/after', 'v1', small);
      await pullImage(server.url, 'full/after', 'v1', sha256(small.manifest));

      const { problems } = await checkStorageRoot(root);
      assert.deepEqual(problems, []);
      const fatal = server.logRecords().filter((r) => r.level === 60);
      assert.deepEqual(fatal, [], 'the server never went down');
    } finally {
      await stop?.();
      spawnSync('umount', ['-l', mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });
});
