import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MediaTypes, type Descriptor } from '../src/index.js';
import { assertError, digestOf, json, testRegistry, type Client, type PushedImage } from './support/http.js';

interface TagList {
  name: string;
  tags: string[];
}

interface Catalog {
  repositories: string[];
}

interface Referrers {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

async function tagAll(client: Client, repository: string, tags: string[]): Promise<PushedImage> {
  const image = await client.pushImage(repository, tags[0]!);
  for (const tag of tags.slice(1)) {
    const reply = await client.send('PUT', `/v2/${repository}/manifests/${tag}`, {
      body: image.manifest,
      headers: { 'content-type': MediaTypes.ociManifest },
    });
    assert.equal(reply.status, 201);
  }
  return image;
}

/** Follows `Link` headers from `first` and returns every page. */
async function allPages<T>(client: Client, first: string, pick: (body: T) => string[]): Promise<string[][]> {
  const pages: string[][] = [];
  let url: string | undefined = first;
  while (url) {
    const reply = await client.get(url);
    assert.equal(reply.status, 200);
    pages.push(pick(json<T>(reply)));
    const link = reply.headers['link'];
    url = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
    if (link) assert.ok(url, `Link header in RFC 5988 form: ${link}`);
    assert.ok(pages.length < 100, 'pagination ends');
  }
  return pages;
}

describe('HTTP: tags list (GET /v2/{name}/tags/list)', () => {
  const TAGS = ['v1', 'latest', 'V2', '1.0', '_x', 'alpha', 'beta', 'v10'];
  const SORTED = [...TAGS].sort();

  it('lists every tag once, in lexical order, with the repository name', async () => {
    const { client } = testRegistry();
    await tagAll(client, 'team/app', TAGS);
    const reply = await client.get('/v2/team/app/tags/list');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.equal(reply.headers['link'], undefined);
    assert.deepEqual(json<TagList>(reply), { name: 'team/app', tags: SORTED });
  });

  it('n limits the page and Link leads to the next until the end', async () => {
    const { client } = testRegistry();
    await tagAll(client, 'repo', TAGS);
    const pages = await allPages<TagList>(client, '/v2/repo/tags/list?n=3', (b) => b.tags);
    assert.deepEqual(pages, [SORTED.slice(0, 3), SORTED.slice(3, 6), SORTED.slice(6)]);
    const first = await client.get('/v2/repo/tags/list?n=3');
    assert.equal(first.headers['link'], `</v2/repo/tags/list?n=3&last=${encodeURIComponent(SORTED[2]!)}>; rel="next"`);
    const exact = await client.get(`/v2/repo/tags/list?n=${TAGS.length}`);
    assert.equal(exact.headers['link'], undefined, 'no Link when nothing follows');
  });

  it('last starts after the given tag, with or without n', async () => {
    const { client } = testRegistry();
    await tagAll(client, 'repo', TAGS);
    assert.deepEqual(json<TagList>(await client.get(`/v2/repo/tags/list?last=${SORTED[1]}`)).tags, SORTED.slice(2));
    assert.deepEqual(json<TagList>(await client.get(`/v2/repo/tags/list?n=2&last=${SORTED[1]}`)).tags, SORTED.slice(2, 4));
    assert.deepEqual(
      json<TagList>(await client.get('/v2/repo/tags/list?last=b')).tags,
      SORTED.filter((t) => t > 'b'),
      'last need not be a tag',
    );
    assert.deepEqual(json<TagList>(await client.get('/v2/repo/tags/list?last=zzz')).tags, []);
  });

  it('n=0 answers an empty list and no Link', async () => {
    const { client } = testRegistry();
    await tagAll(client, 'repo', TAGS);
    const reply = await client.get('/v2/repo/tags/list?n=0');
    assert.equal(reply.status, 200);
    assert.deepEqual(json<TagList>(reply), { name: 'repo', tags: [] });
    assert.equal(reply.headers['link'], undefined);
  });

  it('an existing repository without tags answers an empty list', async () => {
    const { client } = testRegistry();
    await client.pushBlob('repo', 'just a blob');
    assert.deepEqual(json<TagList>(await client.get('/v2/repo/tags/list')), { name: 'repo', tags: [] });
  });

  it('unknown repositories answer 404 NAME_UNKNOWN; a bad n answers 400', async () => {
    const { client } = testRegistry();
    assertError(await client.get('/v2/nothing/tags/list'), 404, 'NAME_UNKNOWN');
    await tagAll(client, 'repo', ['v1']);
    for (const n of ['-1', 'abc', '1.5']) assert.equal((await client.get(`/v2/repo/tags/list?n=${n}`)).status, 400, `n=${n}`);
  });
});

describe('HTTP: catalog (GET /v2/_catalog)', () => {
  const REPOS = ['b', 'a/b/c', 'a', 'a/b', 'zeta', 'm-n.o_p'];
  const SORTED = [...REPOS].sort();

  async function createRepos(client: Client): Promise<void> {
    for (const repo of REPOS) assert.equal((await client.send('POST', `/v2/${repo}/blobs/uploads/`)).status, 202);
  }

  it('lists every repository, nested ones included, in lexical order', async () => {
    const { client } = testRegistry();
    assert.deepEqual(json<Catalog>(await client.get('/v2/_catalog')), { repositories: [] });
    await createRepos(client);
    const reply = await client.get('/v2/_catalog');
    assert.equal(reply.status, 200);
    assert.equal(reply.outcome.operationId, 'listRepositories');
    assert.deepEqual(json<Catalog>(reply), { repositories: SORTED });
  });

  it('paginates with n, last and Link', async () => {
    const { client } = testRegistry();
    await createRepos(client);
    const pages = await allPages<Catalog>(client, '/v2/_catalog?n=4', (b) => b.repositories);
    assert.deepEqual(pages, [SORTED.slice(0, 4), SORTED.slice(4)]);
    const first = await client.get('/v2/_catalog?n=4');
    assert.equal(first.headers['link'], `</v2/_catalog?n=4&last=${encodeURIComponent(SORTED[3]!)}>; rel="next"`);
    assert.deepEqual(json<Catalog>(await client.get(`/v2/_catalog?last=${SORTED[4]}`)).repositories, SORTED.slice(5));
    const none = await client.get('/v2/_catalog?n=0');
    assert.deepEqual(json<Catalog>(none), { repositories: [] });
    assert.equal(none.headers['link'], undefined);
  });

  it('caps n at the configured page size', async () => {
    const { client } = testRegistry({ maxPageSize: 2 });
    await createRepos(client);
    const reply = await client.get('/v2/_catalog?n=1000');
    assert.deepEqual(json<Catalog>(reply).repositories, SORTED.slice(0, 2));
    assert.ok(reply.headers['link']?.includes('n=2'), 'the Link asks for the capped size');
  });
});

describe('HTTP: referrers (GET /v2/{name}/referrers/{digest})', () => {
  async function pushReferrer(
    client: Client,
    repository: string,
    subject: PushedImage,
    fields: { artifactType?: string; configMediaType?: string; annotations?: Record<string, string>; index?: boolean },
  ): Promise<{ digest: string; size: number }> {
    const config = await client.pushBlob(repository, '{}');
    const subjectDescriptor = { mediaType: MediaTypes.ociManifest, digest: subject.digest, size: subject.manifest.length };
    const body = fields.index
      ? {
          schemaVersion: 2,
          mediaType: MediaTypes.ociIndex,
          manifests: [],
          subject: subjectDescriptor,
          ...(fields.artifactType ? { artifactType: fields.artifactType } : {}),
          ...(fields.annotations ? { annotations: fields.annotations } : {}),
        }
      : {
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          ...(fields.artifactType ? { artifactType: fields.artifactType } : {}),
          config: { mediaType: fields.configMediaType ?? MediaTypes.ociEmpty, digest: config, size: 2 },
          layers: [],
          subject: subjectDescriptor,
          ...(fields.annotations ? { annotations: fields.annotations } : {}),
        };
    const bytes = Buffer.from(JSON.stringify(body));
    const reply = await client.send('PUT', `/v2/${repository}/manifests/${digestOf(bytes)}`, {
      body: bytes,
      headers: { 'content-type': fields.index ? MediaTypes.ociIndex : MediaTypes.ociManifest },
    });
    assert.equal(reply.status, 201, reply.body.toString());
    assert.equal(reply.headers['oci-subject'], subject.digest);
    return { digest: digestOf(bytes), size: bytes.length };
  }

  it('lists the manifests whose subject is the digest, as an image index', async () => {
    const { client } = testRegistry();
    const image = await client.pushImage('repo', 'v1');
    const sbom = await pushReferrer(client, 'repo', image, {
      artifactType: 'application/vnd.example.sbom',
      annotations: { 'org.example.format': 'spdx' },
    });
    const sig = await pushReferrer(client, 'repo', image, { configMediaType: 'application/vnd.example.signature.config' });
    const bundle = await pushReferrer(client, 'repo', image, { index: true, annotations: { kind: 'bundle' } });
    await client.pushImage('repo', 'unrelated');

    const reply = await client.get(`/v2/repo/referrers/${image.digest}`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], MediaTypes.ociIndex);
    assert.equal(reply.headers['oci-filters-applied'], undefined);
    const body = json<Referrers>(reply);
    assert.equal(body.schemaVersion, 2);
    assert.equal(body.mediaType, MediaTypes.ociIndex);
    const byDigest = new Map(body.manifests.map((m) => [m.digest, m]));
    assert.equal(body.manifests.length, 3);
    assert.deepEqual(byDigest.get(sbom.digest), {
      mediaType: MediaTypes.ociManifest,
      digest: sbom.digest,
      size: sbom.size,
      artifactType: 'application/vnd.example.sbom',
      annotations: { 'org.example.format': 'spdx' },
    });
    assert.equal(
      byDigest.get(sig.digest)?.artifactType,
      'application/vnd.example.signature.config',
      'no artifactType: the config media type',
    );
    assert.equal(byDigest.get(bundle.digest)?.mediaType, MediaTypes.ociIndex);
    assert.equal(byDigest.get(bundle.digest)?.artifactType, undefined, 'an index without artifactType has none');
    assert.deepEqual(byDigest.get(bundle.digest)?.annotations, { kind: 'bundle' });
  });

  it('filters on artifactType and says so in OCI-Filters-Applied', async () => {
    const { client } = testRegistry();
    const image = await client.pushImage('repo', 'v1');
    const sbom = await pushReferrer(client, 'repo', image, { artifactType: 'application/vnd.example.sbom' });
    await pushReferrer(client, 'repo', image, { artifactType: 'application/vnd.example.signature' });
    const reply = await client.get(`/v2/repo/referrers/${image.digest}?artifactType=application/vnd.example.sbom`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(
      json<Referrers>(reply).manifests.map((m) => m.digest),
      [sbom.digest],
    );
    const none = await client.get(`/v2/repo/referrers/${image.digest}?artifactType=application/vnd.nothing`);
    assert.deepEqual(json<Referrers>(none).manifests, []);
    assert.equal(none.headers['oci-filters-applied'], 'artifactType');
  });

  it('answers an empty index (never 404) for unknown subjects and repositories', async () => {
    const { client } = testRegistry();
    for (const path of [`/v2/repo/referrers/${digestOf('x')}`, `/v2/never/pushed/referrers/${digestOf('y')}`]) {
      const reply = await client.get(path);
      assert.equal(reply.status, 200, path);
      assert.deepEqual(json<Referrers>(reply), { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] });
    }
  });

  it('a referrer deleted by digest leaves the list', async () => {
    const { client } = testRegistry();
    const image = await client.pushImage('repo', 'v1');
    const sbom = await pushReferrer(client, 'repo', image, { artifactType: 'application/vnd.example.sbom' });
    assert.equal((await client.send('DELETE', `/v2/repo/manifests/${sbom.digest}`)).status, 202);
    assert.deepEqual(json<Referrers>(await client.get(`/v2/repo/referrers/${image.digest}`)).manifests, []);
  });

  it('referrers are per repository', async () => {
    const { client } = testRegistry();
    const image = await client.pushImage('one', 'v1');
    await pushReferrer(client, 'one', image, { artifactType: 'application/vnd.example.sbom' });
    assert.deepEqual(json<Referrers>(await client.get(`/v2/two/referrers/${image.digest}`)).manifests, []);
  });

  it('an invalid digest answers 400', async () => {
    const { client } = testRegistry();
    assertError(await client.get('/v2/repo/referrers/sha256:abc'), 400, 'DIGEST_INVALID');
    assertError(await client.get('/v2/repo/referrers/latest'), 400, 'DIGEST_INVALID');
  });
});
