import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MediaTypes, scrubStorage, type ScrubProgress } from '../src/index.js';
import { indexOf, setup, sha256 } from './support/maintenance.js';

describe('scrub', () => {
  it('reports every repository ok on an intact storage, with what it checked', async () => {
    const { storage, client } = setup();
    const a = await client.pushImage('a', 'v1');
    await client.pushImage('b/c', 'v1');
    const report = await scrubStorage(storage);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.repositories.map((r) => [r.repository, r.status, r.blobsChecked]),
      [
        ['a', 'ok', 3],
        ['b/c', 'ok', 3],
      ],
    );
    assert.equal(report.blobsChecked, 6);
    assert.equal(report.repositories[0]!.bytesChecked, a.config.length + a.layer.length + a.manifest.length);
  });

  it('names a corrupt layer and the tags whose image includes it; other repositories stay ok', async () => {
    const { storage, client } = setup();
    const image = await client.pushImage('repo', 'v1');
    assert.equal(
      (await client.send('PUT', '/v2/repo/manifests/also', { body: image.manifest, headers: { 'content-type': MediaTypes.ociManifest } }))
        .status,
      201,
    );
    await client.pushImage('healthy', 'v1');
    storage.corrupt('repo', image.layerDigest);
    const report = await scrubStorage(storage);
    assert.equal(report.ok, false);
    const repo = report.repositories.find((r) => r.repository === 'repo')!;
    assert.equal(repo.status, 'affected');
    assert.equal(repo.problems.length, 1);
    assert.equal(repo.problems[0]!.digest, image.layerDigest);
    assert.equal(repo.problems[0]!.kind, 'corrupt');
    assert.match(repo.problems[0]!.message, /hashes to sha256:/);
    assert.deepEqual(repo.problems[0]!.affects, ['also', 'v1']);
    assert.equal(report.repositories.find((r) => r.repository === 'healthy')!.status, 'ok');
  });

  it('finds missing blobs, size mismatches and corrupt manifests, reached through an index', async () => {
    const { storage, client } = setup();
    const one = await client.pushImage('repo', 'one');
    const two = await client.pushImage('repo', 'two');
    const three = await client.pushImage('repo', 'three');
    const index = indexOf([
      { digest: one.digest, size: one.manifest.length },
      { digest: two.digest, size: two.manifest.length + 1 }, // wrong size in the index
    ]);
    assert.equal(
      (await client.send('PUT', '/v2/repo/manifests/multi', { body: index, headers: { 'content-type': MediaTypes.ociIndex } })).status,
      201,
    );
    await storage.deleteBlob('repo', one.layerDigest);
    storage.corrupt('repo', three.digest);
    const report = await scrubStorage(storage);
    const problems = report.repositories[0]!.problems;
    const byDigest = new Map(problems.map((p) => [p.digest, p]));
    assert.equal(byDigest.get(one.layerDigest)?.kind, 'missing');
    assert.deepEqual(byDigest.get(one.layerDigest)?.affects, ['multi', 'one']);
    assert.equal(byDigest.get(two.digest)?.kind, 'size-mismatch');
    assert.deepEqual(byDigest.get(two.digest)?.affects, ['multi', 'two']);
    assert.equal(byDigest.get(three.digest)?.kind, 'corrupt');
    assert.deepEqual(byDigest.get(three.digest)?.affects, ['three']);
    assert.equal(problems.length, 3);
    assert.ok(!byDigest.has(sha256(index)));
  });

  it('does not report as missing what was pushed after its listing (a scrub beside pushes)', async () => {
    const { storage, client } = setup();
    await client.pushImage('repo', 'v1');
    const realList = storage.listBlobs.bind(storage);
    let pushedMeanwhile = false;
    storage.listBlobs = async (repository) => {
      const listed = await realList(repository);
      if (!pushedMeanwhile) {
        pushedMeanwhile = true;
        await client.pushImage('repo', 'v2'); // lands between the listing and the manifest walk
      }
      return listed;
    };
    const report = await scrubStorage(storage);
    assert.ok(pushedMeanwhile);
    assert.deepEqual(report.repositories[0]!.problems, []);
    assert.equal(report.ok, true);
  });

  it('reports progress up to the total, per blob and per repository', async () => {
    const { storage, client } = setup();
    await client.pushImage('a', 'v1');
    await client.pushBlob('a', Buffer.alloc(20 * 1024 * 1024, 7));
    await client.pushImage('b', 'v1');
    const seen: ScrubProgress[] = [];
    const done: string[] = [];
    const report = await scrubStorage(storage, { onProgress: (p) => seen.push(p), onRepository: (r) => done.push(r.repository) });
    const last = seen.at(-1)!;
    assert.equal(last.bytesDone, last.bytesTotal);
    assert.equal(last.blobsDone, last.blobsTotal);
    assert.equal(last.blobsTotal, 7);
    assert.ok(seen.length > 7, 'progress within the large blob too');
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.bytesDone >= seen[i - 1]!.bytesDone);
    assert.deepEqual(done, ['a', 'b']);
    assert.equal(report.ok, true);
  });
});
