/**
 * kill -9 at random moments during concurrent pushes: every push that got its 201 survives,
 * nothing partial becomes visible, index.json stays valid, and after the last restart every
 * manifest resolves and every blob hashes to its name.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkStorageRoot } from '../e2e/oci-layout-check.js';
import { makeTempDir, startServer, type RunningServer } from '../helpers/server.js';
import {
  inParallel,
  pullBlob,
  pullImage,
  pushBlob,
  putManifest,
  randomImage,
  runCli,
  seededRandom,
  sleep,
  UnexpectedStatus,
  type TestImage,
} from './support.js';

const SEED = 20240605;
const ROUNDS = 4;
const WORKERS = 6;

interface Acknowledged {
  blobs: Map<string, Set<string>>; // repository -> digests that got 201
  tags: Array<{ repository: string; tag: string; digest: string }>;
}

/** Pushes images until the server goes away, recording every 201. */
async function pushUntilDead(
  server: RunningServer,
  worker: number,
  round: number,
  random: () => number,
  acked: Acknowledged,
): Promise<number> {
  const repository = `crash/w${worker % 4}`;
  let pushed = 0;
  for (let i = 0; ; i++) {
    const image: TestImage = randomImage(
      [1024 + Math.floor(random() * 64 * 1024), 1 + Math.floor(random() * 300 * 1024)],
      `${worker}-${round}-${i}`,
    );
    try {
      for (const [n, blob] of [image.config, ...image.layers].entries()) {
        await pushBlob(server.url, repository, blob, n % 2 === 0 ? 'monolithic' : 'chunked');
        let held = acked.blobs.get(repository);
        if (!held) acked.blobs.set(repository, (held = new Set()));
        held.add(blob.digest);
      }
      const tag = `w${worker}-r${round}-${i}`;
      await putManifest(server.url, repository, tag, image.manifest);
      acked.tags.push({ repository, tag, digest: image.digest });
      pushed += 1;
    } catch (err) {
      // The kill: connection refused or reset. Anything else (an HTTP error) is a failure.
      if (err instanceof UnexpectedStatus) throw err;
      return pushed;
    }
  }
}

describe('crash safety: kill -9 during concurrent pushes', () => {
  it(`${ROUNDS} kills at random points, then everything acknowledged is there and the store is consistent`, async (t) => {
    const random = seededRandom(SEED);
    const root = join(makeTempDir('zot-crash-'), 'data');
    // gc runs all along (its passes get killed too); its delay keeps everything pushed here.
    const config = { storage: { rootDirectory: root, gc: true, gcInterval: '300ms', gcDelay: '1h' } };
    const acked: Acknowledged = { blobs: new Map(), tags: [] };

    for (let round = 0; round < ROUNDS; round++) {
      const begun = Date.now();
      const server = await startServer({ config });
      t.diagnostic(`round ${round}: started in ${Date.now() - begun} ms`);
      const workers = Array.from({ length: WORKERS }, (_, w) => pushUntilDead(server, w, round, random, acked));
      const killAfter = 1200 + Math.floor(random() * 2000);
      await sleep(killAfter);
      server.kill('SIGKILL');
      const status = await server.exited;
      assert.equal(status.signal, 'SIGKILL');
      const pushed = await Promise.all(workers);
      t.diagnostic(`round ${round}: killed after ${killAfter} ms, ${pushed.reduce((a, b) => a + b, 0)} images acknowledged`);
    }

    let started = Date.now();
    const server = await startServer({ config });
    t.diagnostic(`restart: ${Date.now() - started} ms`);
    started = Date.now();
    try {
      assert.ok(acked.tags.length >= 1, `pushes got through between kills (${acked.tags.length})`);
      await inParallel(acked.tags, 8, ({ repository, tag, digest }) => pullImage(server.url, repository, tag, digest));
      const blobs = [...acked.blobs].flatMap(([repository, digests]) => [...digests].map((digest) => ({ repository, digest })));
      await inParallel(blobs, 8, ({ repository, digest }) => pullBlob(server.url, repository, digest).then(() => undefined));
      t.diagnostic(
        `${acked.tags.length} acknowledged manifests and ${blobs.length} acknowledged blobs all served intact (${Date.now() - started} ms)`,
      );
      started = Date.now();

      // On disk: valid OCI layouts, every blob file hashes to its name (no partial blob visible),
      // every manifest's references present.
      const { repositories, problems } = await checkStorageRoot(root);
      assert.ok(repositories.length >= 1);
      assert.deepEqual(problems, []);
      t.diagnostic(`on-disk check: ${Date.now() - started} ms`);
      started = Date.now();
      // And the registry's own scrub agrees.
      const scrub = await runCli(['scrub', server.configPath]);
      t.diagnostic(`scrub: ${Date.now() - started} ms`);
      assert.equal(scrub.code, 0, `scrub: ${scrub.stdout}${scrub.stderr}`);
      // A push after all this works.
      const image = randomImage([100]);
      await pushBlob(server.url, 'crash/after', image.config);
      await pushBlob(server.url, 'crash/after', image.layers[0]!);
      await putManifest(server.url, 'crash/after', 'ok', image.manifest);
    } finally {
      await server.stop();
    }
  });
});
