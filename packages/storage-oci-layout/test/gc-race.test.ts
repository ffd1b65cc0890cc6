/**
 * Garbage collection racing manifest pushes on a real filesystem: gc runs in a tight loop (from
 * a second storage instance, as `zot-cli gc` beside a server would) while manifests are pushed
 * that reference blobs gc considers old and unreferenced. Whatever the interleaving, a manifest
 * that was accepted must never reference a blob that is gone.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { MediaTypes, Registry, RegistryError, collectGarbage } from '@zotjs/core';
import { OciLayoutStorage } from '../src/index.js';

const roots: string[] = [];
after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const HOUR = 3_600_000;
const ROUNDS = 25;

describe('touch against conditional delete, many interleavings', () => {
  it('a touch that reports a blob present is never followed by its loss (300 races, fast and locked paths)', async (t) => {
    const rootDirectory = await mkdtemp(join(tmpdir(), 'zot-touch-race-'));
    roots.push(rootDirectory);
    const a = new OciLayoutStorage({ rootDirectory, durable: false });
    const b = new OciLayoutStorage({ rootDirectory, durable: false });
    const longAgo = new Date(Date.now() - 2 * HOUR);
    let kept = 0;
    let deleted = 0;
    for (let i = 0; i < 300; i++) {
      const data = randomBytes(32);
      const digest = sha256(data);
      await a.putBlob('touchy', digest, data);
      await utimes(a.paths.blob('touchy', digest), longAgo, longAgo);
      const cutoff = new Date(Date.now() - HOUR);
      // The touch starts anywhere from before the delete's lock to after its unlink.
      const [missing, removed] = await Promise.all([
        sleep((i % 10) * 0.4).then(() => a.touchBlobs('touchy', [digest])),
        b.deleteBlob('touchy', digest, { unmodifiedSince: cutoff }),
      ]);
      const present = (await a.statBlob('touchy', digest)) !== undefined;
      if (missing.length === 0) assert.ok(present, `round ${i}: touched, then deleted anyway`);
      assert.equal(removed, !present, `round ${i}: deleteBlob's answer matches`);
      if (present) kept += 1;
      else deleted += 1;
    }
    t.diagnostic(`kept ${kept}, deleted ${deleted}`);
    assert.ok(kept > 0 && deleted > 0, `both outcomes happened (kept ${kept}, deleted ${deleted})`);
  });
});

describe('gc racing pushes on the OCI layout', () => {
  for (const dedupe of [true, false]) {
    it(`never leaves an accepted manifest referencing a collected blob (dedupe ${dedupe ? 'on' : 'off'})`, async (t) => {
      const rootDirectory = await mkdtemp(join(tmpdir(), 'zot-gc-race-'));
      roots.push(rootDirectory);
      const server = new OciLayoutStorage({ rootDirectory, dedupe, durable: false });
      const gcSide = new OciLayoutStorage({ rootDirectory, dedupe, durable: false });
      const registry = new Registry({ storage: server });
      const longAgo = new Date(Date.now() - 2 * HOUR);

      let running = true;
      let passes = 0;
      const gcLoop = (async () => {
        while (running) {
          await collectGarbage(gcSide, { delayMs: HOUR, retention: { delayMs: HOUR } });
          passes += 1;
        }
      })();

      const accepted: Array<{ tag: string; blobs: string[] }> = [];
      let refused = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const config = Buffer.from(JSON.stringify({ os: 'linux', round }));
        const layer = randomBytes(2048);
        for (const blob of [config, layer]) await registry.pushBlob('race', sha256(blob), Readable.from([blob]), blob.length);
        // Make them look long uploaded: gc may take them any moment now.
        for (const blob of [config, layer]) await utimes(server.paths.blob('race', sha256(blob)), longAgo, longAgo);
        await sleep(round % 7);
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaTypes.ociManifest,
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
            layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
          }),
        );
        try {
          await registry.putManifest('race', `r${round}`, manifest, MediaTypes.ociManifest);
          accepted.push({ tag: `r${round}`, blobs: [sha256(config), sha256(layer), sha256(manifest)] });
        } catch (err) {
          assert.ok(
            err instanceof RegistryError && err.code === 'MANIFEST_BLOB_UNKNOWN',
            `only MANIFEST_BLOB_UNKNOWN may fail a push: ${String(err)}`,
          );
          refused += 1;
        }
      }
      running = false;
      await gcLoop;
      // One more pass after the dust settled: still nothing accepted may lose a blob.
      await collectGarbage(gcSide, { delayMs: HOUR });

      assert.ok(passes >= 3, `gc ran ${passes} passes during the pushes`);
      t.diagnostic(`dedupe ${dedupe}: ${passes} gc passes, ${accepted.length} pushes accepted, ${refused} refused`);
      assert.ok(accepted.length > 0, 'some pushes got through');
      for (const { tag, blobs } of accepted) {
        for (const digest of blobs) assert.notEqual(await server.statBlob('race', digest), undefined, `${tag}: ${digest} still there`);
        assert.equal((await registry.getManifest('race', tag)).digest, blobs[2]);
      }
      // Refusals are fine (gc won the race for that blob); a silent loss is not.
      assert.equal(accepted.length + refused, ROUNDS);
    });
  }
});
