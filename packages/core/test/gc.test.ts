import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MediaTypes, REF_NAME_ANNOTATION, collectGarbage, type IndexUpdate } from '../src/index.js';
import { type AgingStorage, DAY, HOUR, indexOf, pushReferrer, setup, sha256 } from './support/maintenance.js';

const tags = async (storage: AgingStorage, repository: string): Promise<string[]> =>
  ((await storage.readIndex(repository))?.manifests ?? [])
    .map((m) => m.annotations?.[REF_NAME_ANNOTATION])
    .filter((t): t is string => t !== undefined)
    .sort();

const digestsInIndex = async (storage: AgingStorage, repository: string): Promise<string[]> =>
  [...new Set(((await storage.readIndex(repository))?.manifests ?? []).map((m) => m.digest))].sort();

describe('gc: unreferenced blobs', () => {
  it('removes blobs nothing references once older than the delay, and keeps everything an index entry reaches', async () => {
    const { storage, client } = setup();
    const image = await client.pushImage('repo', 'v1');
    const stray = await client.pushBlob('repo', 'an unreferenced blob');
    const young = await client.pushBlob('repo', 'uploaded a moment ago');
    storage.age('repo', 2 * HOUR);
    const fresh = await client.pushBlob('repo', 'uploaded just now');
    storage.age('repo', 2 * HOUR, [stray]); // stray: 4 h old; young: 2 h, under the 3 h delay

    const report = await collectGarbage(storage, { delayMs: 3 * HOUR });
    assert.deepEqual(
      report.repositories[0]!.blobs.map((b) => b.digest),
      [stray],
    );
    assert.equal(report.totals.blobs, 1);
    assert.equal(report.totals.bytes, 'an unreferenced blob'.length);
    assert.deepEqual(storage.blobDigests('repo'), [image.configDigest, image.digest, image.layerDigest, young, fresh].sort());
    assert.equal((await client.get('/v2/repo/manifests/v1')).status, 200);
  });

  it('a deleted manifest leaves its own blobs collectable, shared ones stay', async () => {
    const { storage, client } = setup();
    const first = await client.pushImage('repo', 'first');
    const second = await client.pushImage('repo', 'second');
    // A third manifest sharing the first one's layer.
    const shared = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: second.configDigest, size: second.config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: first.layerDigest, size: first.layer.length }],
      }),
    );
    assert.equal(
      (await client.send('PUT', '/v2/repo/manifests/shared', { body: shared, headers: { 'content-type': MediaTypes.ociManifest } })).status,
      201,
    );
    assert.equal((await client.send('DELETE', `/v2/repo/manifests/${first.digest}`)).status, 202);
    storage.ageAll(2 * HOUR);

    const report = await collectGarbage(storage, { delayMs: HOUR });
    assert.deepEqual(report.repositories[0]!.blobs.map((b) => b.digest).sort(), [first.configDigest, first.digest].sort());
    assert.ok(storage.has('repo', first.layerDigest), 'the layer the "shared" manifest uses stays');
    assert.equal((await client.get('/v2/repo/manifests/shared')).status, 200);
    assert.equal((await client.get('/v2/repo/manifests/second')).status, 200);
  });

  it('touching a blob between the listing and the delete keeps it (a manifest being pushed)', async () => {
    const { storage, registry, client } = setup();
    const config = await client.pushBlob('repo', '{"os":"linux"}');
    const layer = await client.pushBlob('repo', 'layer bytes');
    storage.ageAll(2 * HOUR);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 14 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: 11 }],
      }),
    );
    // The push lands right after gc listed the blobs as old and unreferenced.
    const realDelete = storage.deleteBlob.bind(storage);
    let pushed = false;
    storage.deleteBlob = async (repository, digest, options) => {
      if (!pushed) {
        pushed = true;
        await registry.putManifest('repo', 'v1', manifest, MediaTypes.ociManifest);
      }
      return realDelete(repository, digest, options);
    };
    const report = await collectGarbage(storage, { delayMs: HOUR });
    assert.ok(pushed);
    assert.deepEqual(report.repositories[0]!.blobs, [], 'nothing removed: the push touched both blobs');
    assert.ok(storage.has('repo', config) && storage.has('repo', layer));
    assert.equal((await client.get('/v2/repo/manifests/v1')).status, 200);
  });

  it('a manifest push after gc removed a blob fails with MANIFEST_BLOB_UNKNOWN, never referencing a missing blob', async () => {
    const { storage, client } = setup();
    const config = await client.pushBlob('repo', '{"os":"linux"}');
    storage.ageAll(2 * HOUR);
    await collectGarbage(storage, { delayMs: HOUR });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 14 },
      layers: [],
    });
    const reply = await client.send('PUT', '/v2/repo/manifests/v1', {
      body: manifest,
      headers: { 'content-type': MediaTypes.ociManifest },
    });
    assert.equal(reply.status, 400);
    assert.match(reply.body.toString(), /MANIFEST_BLOB_UNKNOWN/);
  });

  it('retention dry run reports manifests and keeps them, while unreferenced blobs still go (zot)', async () => {
    const { storage, client } = setup();
    const old = await client.pushImage('repo', 'latest');
    await client.pushImage('repo', 'latest'); // `old` is untagged now
    const stray = await client.pushBlob('repo', 'stray');
    storage.ageAll(2 * DAY);
    const report = await collectGarbage(storage, { retention: { dryRun: true } });
    assert.equal(report.retentionDryRun, true);
    assert.deepEqual(report.repositories[0]!.manifests, [{ digest: old.digest, reason: 'untagged' }]);
    assert.deepEqual(
      report.repositories[0]!.blobs.map((b) => b.digest),
      [stray],
      'only what nothing references',
    );
    assert.equal((await client.get(`/v2/repo/manifests/${old.digest}`)).status, 200, 'the untagged manifest stays');
  });

  it('dry run reports and removes nothing', async () => {
    const { storage, client } = setup();
    await client.pushImage('repo', 'v1');
    const stray = await client.pushBlob('repo', 'stray');
    storage.ageAll(2 * DAY);
    const before = storage.blobDigests('repo');
    const report = await collectGarbage(storage, { dryRun: true });
    assert.equal(report.dryRun, true);
    assert.deepEqual(
      report.repositories[0]!.blobs.map((b) => b.digest),
      [stray],
    );
    assert.deepEqual(storage.blobDigests('repo'), before);
  });

  it('skips blob collection in a repository whose manifests cannot be read, and says why', async () => {
    const { storage, client } = setup();
    const image = await client.pushImage('repo', 'v1');
    const stray = await client.pushBlob('repo', 'stray');
    storage.corrupt('repo', image.digest);
    storage.ageAll(2 * DAY);
    const report = await collectGarbage(storage);
    const repo = report.repositories[0]!;
    assert.deepEqual(repo.blobs, []);
    assert.ok(
      repo.problems.some((p) => p.includes(image.digest)),
      repo.problems.join('; '),
    );
    assert.ok(storage.has('repo', stray) && storage.has('repo', image.layerDigest));
  });
});

describe('gc: untagged manifests and referrers (retention)', () => {
  it('removes untagged manifests older than the retention delay, then their blobs', async () => {
    const { storage, client } = setup();
    const old = await client.pushImage('repo', 'latest');
    const current = await client.pushImage('repo', 'latest'); // moves the tag: `old` is now untagged
    storage.ageAll(2 * DAY);
    const recent = await client.pushImage('repo', 'other');
    assert.equal((await client.send('DELETE', '/v2/repo/manifests/other')).status, 202); // recent: untagged, young

    const report = await collectGarbage(storage, { delayMs: HOUR });
    const repo = report.repositories[0]!;
    assert.deepEqual(repo.manifests, [{ digest: old.digest, reason: 'untagged' }]);
    assert.deepEqual(repo.blobs.map((b) => b.digest).sort(), [old.configDigest, old.digest, old.layerDigest].sort());
    assert.deepEqual(await digestsInIndex(storage, 'repo'), [current.digest, recent.digest].sort());
    assert.equal((await client.get(`/v2/repo/manifests/${recent.digest}`)).status, 200, 'younger than the retention delay: kept');
  });

  it('keeps manifests an image index references, and removes an untagged index with its children', async () => {
    const { storage, client } = setup();
    const amd = await client.pushImage('repo', 'amd-tmp');
    const arm = await client.pushImage('repo', 'arm-tmp');
    for (const tag of ['amd-tmp', 'arm-tmp']) assert.equal((await client.send('DELETE', `/v2/repo/manifests/${tag}`)).status, 202);
    const index = indexOf([
      { digest: amd.digest, size: amd.manifest.length },
      { digest: arm.digest, size: arm.manifest.length },
    ]);
    assert.equal(
      (await client.send('PUT', '/v2/repo/manifests/multi', { body: index, headers: { 'content-type': MediaTypes.ociIndex } })).status,
      201,
    );
    storage.ageAll(2 * DAY);
    let report = await collectGarbage(storage);
    assert.deepEqual(report.totals, { manifests: 0, blobs: 0, bytes: 0, uploads: 0, leftovers: 0 }, 'children of a tagged index stay');

    assert.equal((await client.send('DELETE', '/v2/repo/manifests/multi')).status, 202); // the index is untagged now
    storage.ageAll(2 * DAY);
    report = await collectGarbage(storage);
    assert.deepEqual(report.repositories[0]!.manifests.map((m) => m.digest).sort(), [sha256(index), amd.digest, arm.digest].sort());
    assert.deepEqual(storage.blobDigests('repo'), [], 'everything went');
    assert.deepEqual(await digestsInIndex(storage, 'repo'), []);
  });

  it("keeps referrers whose subject is gone by default (zot's behaviour), removes them with deleteReferrers", async () => {
    const { storage, client } = setup();
    const image = await client.pushImage('repo', 'v1');
    const subject = { mediaType: MediaTypes.ociManifest, digest: image.digest, size: image.manifest.length };
    const referrer = await pushReferrer(client, 'repo', subject);
    const keeper = await client.pushImage('repo', 'v2');
    const kept = await pushReferrer(client, 'repo', {
      mediaType: MediaTypes.ociManifest,
      digest: keeper.digest,
      size: keeper.manifest.length,
    });
    assert.equal((await client.send('DELETE', `/v2/repo/manifests/${image.digest}`)).status, 202);
    storage.ageAll(2 * DAY);

    let report = await collectGarbage(storage);
    assert.deepEqual(report.repositories[0]!.manifests, [], 'an orphaned referrer is kept by default');
    assert.ok((await digestsInIndex(storage, 'repo')).includes(referrer));
    const listed = await client.get(`/v2/repo/referrers/${image.digest}`);
    assert.equal(
      (JSON.parse(listed.body.toString()) as { manifests: unknown[] }).manifests.length,
      1,
      'still listed for the deleted subject',
    );

    report = await collectGarbage(storage, { retention: { policies: [{ repositories: ['**'], deleteReferrers: true }] } });
    assert.deepEqual(report.repositories[0]!.manifests, [{ digest: referrer, reason: 'orphaned-referrer' }]);
    assert.ok(!(await digestsInIndex(storage, 'repo')).includes(referrer));
    assert.ok((await digestsInIndex(storage, 'repo')).includes(kept), 'a referrer whose subject exists stays');
    assert.ok(!storage.has('repo', referrer), "the referrer's manifest blob went with it");
  });

  it('deleteUntagged: false keeps untagged manifests; policies match repositories by glob', async () => {
    const { storage, client } = setup();
    const a = await client.pushImage('team/keep', 'x');
    const b = await client.pushImage('team/drop', 'x');
    for (const repo of ['team/keep', 'team/drop']) assert.equal((await client.send('DELETE', `/v2/${repo}/manifests/x`)).status, 202);
    storage.ageAll(2 * DAY);
    const report = await collectGarbage(storage, {
      retention: { policies: [{ repositories: ['team/keep', 'other/**'], deleteUntagged: false }, { repositories: ['**'] }] },
    });
    assert.deepEqual(await digestsInIndex(storage, 'team/keep'), [a.digest]);
    assert.deepEqual(await digestsInIndex(storage, 'team/drop'), []);
    assert.deepEqual(report.repositories.find((r) => r.repository === 'team/drop')!.manifests, [{ digest: b.digest, reason: 'untagged' }]);
  });

  it('keepTags removes tags matching no pattern, and then what only they used', async () => {
    const { storage, client } = setup();
    const release = await client.pushImage('repo', 'v1.0.0');
    const nightly = await client.pushImage('repo', 'nightly-42');
    storage.ageAll(2 * DAY);
    const report = await collectGarbage(storage, {
      retention: { policies: [{ repositories: ['repo'], keepTags: [{ patterns: ['^v\\d'] }] }] },
    });
    assert.deepEqual(await tags(storage, 'repo'), ['v1.0.0']);
    assert.deepEqual(report.repositories[0]!.manifests, [{ digest: nightly.digest, reason: 'tag', tag: 'nightly-42' }]);
    assert.ok(!storage.has('repo', nightly.layerDigest) && storage.has('repo', release.layerDigest));
  });

  it('re-checks inside the index update: a manifest tagged meanwhile stays', async () => {
    const { storage, client, registry } = setup();
    const image = await client.pushImage('repo', 'tmp');
    assert.equal((await client.send('DELETE', '/v2/repo/manifests/tmp')).status, 202);
    storage.ageAll(2 * DAY);
    const realUpdate = storage.updateIndex.bind(storage);
    let raced = false;
    storage.updateIndex = async (repository: string, update: IndexUpdate) => {
      if (!raced) {
        raced = true; // a client tags the manifest between gc's plan and its index update
        storage.updateIndex = realUpdate;
        await registry.putManifest('repo', 'again', image.manifest, MediaTypes.ociManifest);
      }
      return realUpdate(repository, update);
    };
    const report = await collectGarbage(storage);
    assert.ok(raced);
    assert.deepEqual(report.repositories[0]!.manifests, []);
    assert.deepEqual(await tags(storage, 'repo'), ['again']);
    assert.equal((await client.get('/v2/repo/manifests/again')).status, 200);
    assert.ok(storage.has('repo', image.layerDigest));
  });

  it('a push of an index lists its children again if gc dropped them from index.json meanwhile', async () => {
    const { storage, client, registry } = setup();
    const child = await client.pushImage('repo', 'child');
    assert.equal((await client.send('DELETE', '/v2/repo/manifests/child')).status, 202);
    const index = indexOf([{ digest: child.digest, size: child.manifest.length }]);
    const realPut = storage.putBlob.bind(storage);
    storage.putBlob = async (repository, digest, data) => {
      // Between the push's reference check and its index update, the child leaves index.json.
      await storage.updateIndex(repository, (i) => ({ ...i, manifests: i.manifests.filter((m) => m.digest !== child.digest) }));
      storage.putBlob = realPut;
      return realPut(repository, digest, data);
    };
    await registry.putManifest('repo', 'multi', index, MediaTypes.ociIndex);
    assert.deepEqual(await digestsInIndex(storage, 'repo'), [child.digest, sha256(index)].sort());
    assert.equal((await client.get(`/v2/repo/manifests/${child.digest}`)).status, 200);
  });
});

describe('gc: upload sessions and the whole pass', () => {
  it('removes sessions idle for longer than the expiry, keeps active ones', async () => {
    const { storage, client } = setup();
    const started = await client.send('POST', '/v2/repo/blobs/uploads/');
    const abandoned = started.headers['docker-upload-uuid']!;
    storage.ageAll(3 * HOUR);
    const active = (await client.send('POST', '/v2/repo/blobs/uploads/')).headers['docker-upload-uuid']!;
    const report = await collectGarbage(storage, { uploadExpiryMs: 2 * HOUR });
    assert.deepEqual(report.repositories[0]!.uploads, [abandoned]);
    assert.equal(storage.sessionCount('repo'), 1);
    assert.equal((await client.get(`/v2/repo/blobs/uploads/${active}`)).status, 204);
  });

  it('covers every repository and reports per repository; an abort stops it', async () => {
    const { storage, client } = setup();
    for (const repo of ['a', 'b/c', 'd']) {
      await client.pushImage(repo, 'v1');
      await client.pushBlob(repo, `stray of ${repo}`);
    }
    storage.ageAll(2 * DAY);
    const seen: string[] = [];
    const report = await collectGarbage(storage, { onRepository: (r) => seen.push(r.repository) });
    assert.deepEqual(seen, ['a', 'b/c', 'd']);
    assert.deepEqual(
      report.repositories.map((r) => r.blobs.length),
      [1, 1, 1],
    );
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(collectGarbage(storage, { signal: controller.signal }), { name: 'AbortError' });
  });
});
