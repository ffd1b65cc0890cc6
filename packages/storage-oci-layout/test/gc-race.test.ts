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
          assert.ok(err instanceof RegistryError && err.code === 'MANIFEST_BLOB_UNKNOWN', `only MANIFEST_BLOB_UNKNOWN may fail a push: ${String(err)}`);
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
