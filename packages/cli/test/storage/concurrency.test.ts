/**
 * Many clients at once: 32 parallel pushes of different images, 32 parallel tag updates to one
 * repository and pulls all along, with garbage collection running in the background. No tag is
 * lost, nothing fails with anything but the spec's errors, and the store is consistent after.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkStorageRoot, tagsOnDisk } from '../e2e/oci-layout-check.js';
import { startServer } from '../helpers/server.js';
import { imageOf, pullImage, pushBlob, pushImage, putManifest, randomImage, runCli, sha256 } from './support.js';

describe('concurrency: pushes, tag updates and pulls at once', () => {
  it('32 image pushes + 32 tag updates of one repository + pulls: every push lands, no tag is lost', async (t) => {
    const server = await startServer({ config: { storage: { gc: true, gcInterval: '250ms', gcDelay: '30s' } } });
    try {
      // What the pulls read while everything else happens.
      const pulled = randomImage([50_000, 120_000]);
      await pushImage(server.url, 'conc/pulled', 'stable', pulled);
      // Tag updates: one config and layer, 32 manifests differing by an annotation, each PUT under its own tag.
      const base = randomImage([8192]);
      for (const blob of [base.config, ...base.layers]) await pushBlob(server.url, 'conc/tags', blob);
      const retagged = Array.from({ length: 32 }, (_, i) => ({
        tag: `t${String(i).padStart(2, '0')}`,
        image: imageOf(base.config, base.layers, { n: String(i) }),
      }));
      const images = Array.from({ length: 32 }, (_, i) => ({
        repository: `conc/r${i % 8}`,
        tag: `i${i}`,
        image: randomImage([2048 + i * 512, 30_000]),
      }));

      let pushing = true;
      let pulls = 0;
      const failures: string[] = [];
      const record = (what: string) => (err: unknown) => failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      const pullers = Array.from({ length: 4 }, async () => {
        while (pushing) {
          await pullImage(server.url, 'conc/pulled', 'stable', pulled.digest).catch(record('pull'));
          pulls += 1;
        }
      });
      const started = Date.now();
      await Promise.all([
        ...images.map(({ repository, tag, image }, i) =>
          pushImage(server.url, repository, tag, image, i % 2 === 0 ? 'monolithic' : 'chunked').catch(record(`push ${repository}:${tag}`)),
        ),
        ...retagged.map(({ tag, image }) => putManifest(server.url, 'conc/tags', tag, image.manifest).catch(record(`tag ${tag}`))),
      ]);
      pushing = false;
      await Promise.all(pullers);
      t.diagnostic(`64 writers done in ${Date.now() - started} ms, ${pulls} pulls meanwhile`);
      assert.deepEqual(failures, []);

      // Every tag there, pointing at its manifest, over HTTP and in index.json.
      const listed = (await (await fetch(`${server.url}/v2/conc/tags/tags/list`)).json()) as { tags: string[] };
      assert.deepEqual(
        listed.tags,
        retagged.map((r) => r.tag),
      );
      const onDisk = await tagsOnDisk(server.rootDirectory, 'conc/tags');
      for (const { tag, image } of retagged) assert.equal(onDisk.get(tag), sha256(image.manifest), `${tag} in index.json`);
      for (const { repository, tag, image } of images) await pullImage(server.url, repository, tag, image.digest);
      for (const { tag, image } of retagged) await pullImage(server.url, 'conc/tags', tag, image.digest);

      const { problems } = await checkStorageRoot(server.rootDirectory);
      assert.deepEqual(problems, []);
      const scrub = await runCli(['scrub', server.configPath]);
      assert.equal(scrub.code, 0, scrub.stdout + scrub.stderr);
      const errors = server.logRecords().filter((r) => typeof r.level === 'number' && r.level >= 50);
      assert.deepEqual(errors, [], 'no error logged');
    } finally {
      await server.stop();
    }
  });
});
