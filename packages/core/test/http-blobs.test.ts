import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { assertError, digestOf, testRegistry, type Client, type Reply } from './support/http.js';

const UNKNOWN_UPLOAD = '0f8fad5b-d9cb-469f-a165-70867728950e';

async function startUpload(client: Client, repository = 'repo'): Promise<string> {
  const reply = await client.send('POST', `/v2/${repository}/blobs/uploads/`, { headers: { 'content-length': '0' } });
  assert.equal(reply.status, 202);
  return reply.headers['location']!;
}

function assertUploadHeaders(reply: Reply, status: number, repository: string, range: string): void {
  assert.equal(reply.status, status, reply.body.toString());
  const uuid = reply.headers['docker-upload-uuid'];
  assert.match(uuid ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(reply.headers['location'], `/v2/${repository}/blobs/uploads/${uuid}`);
  assert.equal(reply.headers['range'], range);
  assert.equal(reply.headers['content-length'], '0');
  assert.equal(reply.headers['docker-distribution-api-version'], 'registry/2.0');
}

function assertBlobCreated(reply: Reply, repository: string, digest: string): void {
  assert.equal(reply.status, 201, reply.body.toString());
  assert.equal(reply.headers['location'], `/v2/${repository}/blobs/${digest}`);
  assert.equal(reply.headers['docker-content-digest'], digest);
}

async function assertBlob(client: Client, repository: string, data: Buffer): Promise<void> {
  const digest = digestOf(data);
  const reply = await client.get(`/v2/${repository}/blobs/${digest}`);
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.body, data);
}

describe('HTTP: pulling blobs (GET/HEAD/DELETE /v2/{name}/blobs/{digest})', () => {
  it('GET streams the blob with its digest, length and type; HEAD sends the headers only', async () => {
    const { client } = testRegistry();
    const data = randomBytes(100_000);
    const digest = await client.pushBlob('repo', data);
    const got = await client.get(`/v2/repo/blobs/${digest}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, data);
    assert.equal(got.headers['docker-content-digest'], digest);
    assert.equal(got.headers['content-length'], '100000');
    assert.equal(got.headers['content-type'], 'application/octet-stream');
    assert.equal(got.headers['accept-ranges'], 'bytes');
    assert.equal(got.headers['etag'], `"${digest}"`);
    const head = await client.head(`/v2/repo/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.hasBody, false);
    assert.equal(head.headers['content-length'], '100000');
    assert.equal(head.headers['docker-content-digest'], digest);
    assert.equal(head.outcome.operationId, 'headBlob');
  });

  it('unknown blobs answer 404 BLOB_UNKNOWN; bad digests 400 DIGEST_INVALID', async () => {
    const { client } = testRegistry();
    await client.pushBlob('repo', 'something');
    const missing = digestOf('missing');
    assertError(await client.get(`/v2/repo/blobs/${missing}`), 404, 'BLOB_UNKNOWN');
    assertError(await client.head(`/v2/repo/blobs/${missing}`), 404, 'BLOB_UNKNOWN');
    assertError(await client.get(`/v2/nowhere/blobs/${missing}`), 404, 'BLOB_UNKNOWN');
    for (const bad of ['sha256:abc', `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, 'latest']) {
      assertError(await client.get(`/v2/repo/blobs/${bad}`), 400, 'DIGEST_INVALID');
    }
  });

  it('a blob is only visible in the repository that holds it', async () => {
    const { client } = testRegistry();
    const digest = await client.pushBlob('one', 'mine');
    await client.pushBlob('two', 'theirs');
    assertError(await client.get(`/v2/two/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  });

  it('Range requests answer 206 with Content-Range; unsatisfiable ranges 416', async () => {
    const { client } = testRegistry();
    const data = randomBytes(1000);
    const digest = await client.pushBlob('repo', data);
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      ['bytes=10-19', 10, 19],
      ['bytes=990-', 990, 999],
      ['bytes=-10', 990, 999],
      ['bytes=900-5000', 900, 999],
      ['bytes=-5000', 0, 999],
    ];
    for (const [range, start, end] of cases) {
      const reply = await client.get(`/v2/repo/blobs/${digest}`, { headers: { range } });
      assert.equal(reply.status, 206, range);
      assert.deepEqual(reply.body, data.subarray(start, end + 1), range);
      assert.equal(reply.headers['content-range'], `bytes ${start}-${end}/1000`, range);
      assert.equal(reply.headers['content-length'], String(end - start + 1), range);
    }
    for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=20-10', 'bytes=-0']) {
      const reply = await client.get(`/v2/repo/blobs/${digest}`, { headers: { range } });
      assert.equal(reply.status, 416, range);
      assert.equal(reply.headers['content-range'], 'bytes */1000', range);
    }
    // Not a single byte range: the whole blob (RFC 9110 lets a server ignore Range).
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=abc']) {
      const reply = await client.get(`/v2/repo/blobs/${digest}`, { headers: { range } });
      assert.equal(reply.status, 200, range);
      assert.equal(reply.body.length, 1000);
    }
  });

  it('DELETE answers 202, then the blob is gone (404); unknown blobs 404', async () => {
    const { client } = testRegistry();
    const digest = await client.pushBlob('repo', 'to delete');
    const reply = await client.send('DELETE', `/v2/repo/blobs/${digest}`);
    assert.equal(reply.status, 202);
    assertError(await client.get(`/v2/repo/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    assertError(await client.send('DELETE', `/v2/repo/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    assertError(await client.send('DELETE', `/v2/repo/blobs/sha256:nothex`), 400, 'DIGEST_INVALID');
  });

  it('with deletion disabled, DELETE answers 405 UNSUPPORTED and keeps the blob', async () => {
    const { client } = testRegistry({ deleteEnabled: false });
    const digest = await client.pushBlob('repo', 'kept');
    assertError(await client.send('DELETE', `/v2/repo/blobs/${digest}`), 405, 'UNSUPPORTED');
    assert.equal((await client.head(`/v2/repo/blobs/${digest}`)).status, 200);
  });
});

describe('HTTP: pushing blobs', () => {
  it('POST opens a session: 202 with Location, Docker-Upload-UUID and Range 0-0; GET shows its progress (204)', async () => {
    const { client } = testRegistry();
    const reply = await client.send('POST', '/v2/repo/blobs/uploads/');
    assertUploadHeaders(reply, 202, 'repo', '0-0');
    const status = await client.get(reply.headers['location']!);
    assertUploadHeaders(status, 204, 'repo', '0-0');
    assert.equal(status.outcome.operationId, 'getUploadStatus');
  });

  it('POST then PUT with the whole blob (monolithic, two requests)', async () => {
    const { client } = testRegistry();
    const location = await startUpload(client);
    const data = randomBytes(50_000);
    const put = await client.send('PUT', `${location}?digest=${digestOf(data)}`, {
      body: data,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assertBlobCreated(put, 'repo', digestOf(data));
    assert.equal(put.outcome.digest, digestOf(data));
    await assertBlob(client, 'repo', data);
    assertError(await client.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('single POST ?digest= stores the blob (201)', async () => {
    const { client } = testRegistry();
    const data = randomBytes(10_000);
    const reply = await client.send('POST', `/v2/a/b/c/blobs/uploads/?digest=${digestOf(data)}`, { body: data });
    assertBlobCreated(reply, 'a/b/c', digestOf(data));
    await assertBlob(client, 'a/b/c', data);
  });

  it('single POST with a wrong digest answers 400 DIGEST_INVALID and stores nothing, not even a session', async () => {
    const { client, storage } = testRegistry();
    const data = randomBytes(1000);
    const wrong = digestOf('other');
    assertError(await client.send('POST', `/v2/repo/blobs/uploads/?digest=${wrong}`, { body: data }), 400, 'DIGEST_INVALID');
    assertError(await client.head(`/v2/repo/blobs/${wrong}`), 404, 'BLOB_UNKNOWN');
    assertError(await client.head(`/v2/repo/blobs/${digestOf(data)}`), 404, 'BLOB_UNKNOWN');
    assert.equal(storage.sessionCount('repo'), 0, 'the failed session was removed');
    assertError(await client.send('POST', `/v2/repo/blobs/uploads/?digest=sha256:zzz`, { body: data }), 400, 'DIGEST_INVALID');
  });

  it('a body shorter or longer than Content-Length answers SIZE_INVALID', async () => {
    const { client } = testRegistry();
    const data = Buffer.from('0123456789');
    const short = await client.send('POST', `/v2/repo/blobs/uploads/?digest=${digestOf(data)}`, {
      stream: Readable.from([data]),
      headers: { 'content-length': '20' },
    });
    assertError(short, 400, 'SIZE_INVALID');
    const long = await client.send('POST', `/v2/repo/blobs/uploads/?digest=${digestOf(data)}`, {
      stream: Readable.from([data]),
      headers: { 'content-length': '5' },
    });
    assert.ok(long.status === 400 || long.status === 416, `status ${long.status}`);
    assertError(long, long.status, 'SIZE_INVALID');
    assertError(
      await client.send('POST', `/v2/repo/blobs/uploads/?digest=${digestOf(data)}`, { body: data, headers: { 'content-length': 'ten' } }),
      400,
      'SIZE_INVALID',
    );
    assertError(await client.head(`/v2/repo/blobs/${digestOf(data)}`), 404, 'BLOB_UNKNOWN');
  });

  it('chunked upload in order: each PATCH answers 202 with Range; PUT without a body closes it', async () => {
    const { client } = testRegistry();
    const data = randomBytes(300_000);
    let location = await startUpload(client);
    const bounds = [0, 100_000, 100_001, 250_000, data.length];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const [start, end] = [bounds[i]!, bounds[i + 1]! - 1];
      const reply = await client.send('PATCH', location, {
        body: data.subarray(start, end + 1),
        headers: { 'content-range': `${start}-${end}`, 'content-type': 'application/octet-stream' },
      });
      assertUploadHeaders(reply, 202, 'repo', `0-${end}`);
      location = reply.headers['location']!;
      const status = await client.get(location);
      assertUploadHeaders(status, 204, 'repo', `0-${end}`);
    }
    const put = await client.send('PUT', `${location}?digest=${digestOf(data)}`, { headers: { 'content-length': '0' } });
    assertBlobCreated(put, 'repo', digestOf(data));
    await assertBlob(client, 'repo', data);
  });

  it('chunked upload with the final chunk in the PUT', async () => {
    const { client } = testRegistry();
    const data = randomBytes(20_000);
    const location = await startUpload(client);
    await client.send('PATCH', location, { body: data.subarray(0, 15_000), headers: { 'content-range': '0-14999' } });
    const put = await client.send('PUT', `${location}?digest=${digestOf(data)}`, {
      body: data.subarray(15_000),
      headers: { 'content-range': '15000-19999' },
    });
    assertBlobCreated(put, 'repo', digestOf(data));
    await assertBlob(client, 'repo', data);
  });

  it('older Content-Range spellings (bytes=a-b/total) are understood', async () => {
    const { client } = testRegistry();
    const data = randomBytes(100);
    const location = await startUpload(client);
    assert.equal(
      (await client.send('PATCH', location, { body: data.subarray(0, 50), headers: { 'content-range': 'bytes=0-49/100' } })).status,
      202,
    );
    assert.equal(
      (await client.send('PATCH', location, { body: data.subarray(50), headers: { 'content-range': 'bytes 50-99/*' } })).status,
      202,
    );
    assertBlobCreated(await client.send('PUT', `${location}?digest=${digestOf(data)}`), 'repo', digestOf(data));
  });

  it('out-of-order chunks answer 416 with the session Range and Location, and change nothing', async () => {
    const { client } = testRegistry();
    const data = randomBytes(1000);
    const location = await startUpload(client);
    const first = await client.send('PATCH', location, { body: data.subarray(0, 400), headers: { 'content-range': '0-399' } });
    assert.equal(first.status, 202);
    for (const [start, end] of [
      [0, 99],
      [300, 499],
      [401, 600],
      [500, 999],
    ] as const) {
      const reply = await client.send('PATCH', location, {
        body: data.subarray(start, end + 1),
        headers: { 'content-range': `${start}-${end}` },
      });
      assertError(reply, 416, 'BLOB_UPLOAD_INVALID');
      assert.equal(reply.headers['range'], '0-399', `chunk ${start}-${end}`);
      assert.equal(reply.headers['location'], location);
      assert.equal(reply.headers['docker-upload-uuid'], location.split('/').pop());
    }
    const status = await client.get(location);
    assert.equal(status.headers['range'], '0-399', 'nothing was written by refused chunks');
    await client.send('PATCH', location, { body: data.subarray(400), headers: { 'content-range': '400-999' } });
    assertBlobCreated(await client.send('PUT', `${location}?digest=${digestOf(data)}`), 'repo', digestOf(data));
    await assertBlob(client, 'repo', data);
  });

  it('a final chunk out of order in the PUT answers 416 and stores nothing', async () => {
    const { client } = testRegistry();
    const data = randomBytes(100);
    const location = await startUpload(client);
    await client.send('PATCH', location, { body: data.subarray(0, 50), headers: { 'content-range': '0-49' } });
    const put = await client.send('PUT', `${location}?digest=${digestOf(data)}`, {
      body: data.subarray(60),
      headers: { 'content-range': '60-99' },
    });
    assertError(put, 416, 'BLOB_UPLOAD_INVALID');
    assertError(await client.head(`/v2/repo/blobs/${digestOf(data)}`), 404, 'BLOB_UNKNOWN');
  });

  it('malformed Content-Range, or one disagreeing with Content-Length, answers 416', async () => {
    const { client } = testRegistry();
    const location = await startUpload(client);
    for (const contentRange of ['0-', 'abc', '5-2', 'bytes=-5']) {
      const reply = await client.send('PATCH', location, { body: 'hello', headers: { 'content-range': contentRange } });
      assert.equal(reply.status, 416, contentRange);
    }
    const mismatch = await client.send('PATCH', location, { body: 'hello', headers: { 'content-range': '0-9' } });
    assertError(mismatch, 416, 'SIZE_INVALID');
    assert.equal((await client.get(location)).headers['range'], '0-0');
  });

  it('streamed PATCH without Content-Range or Content-Length (chunked transfer)', async () => {
    const { client } = testRegistry();
    const data = randomBytes(200_000);
    const location = await startUpload(client);
    const parts = [data.subarray(0, 70_000), data.subarray(70_000, 140_000), data.subarray(140_000)];
    const first = await client.send('PATCH', location, {
      stream: Readable.from(parts.slice(0, 2)),
      headers: { 'transfer-encoding': 'chunked' },
    });
    assertUploadHeaders(first, 202, 'repo', '0-139999');
    const second = await client.send('PATCH', location, {
      stream: Readable.from(parts.slice(2)),
      headers: { 'transfer-encoding': 'chunked' },
    });
    assertUploadHeaders(second, 202, 'repo', '0-199999');
    assertBlobCreated(await client.send('PUT', `${location}?digest=${digestOf(data)}`), 'repo', digestOf(data));
    await assertBlob(client, 'repo', data);
  });

  it('PUT with a mismatching digest answers 400 DIGEST_INVALID and stores nothing; the right digest still works', async () => {
    const { client } = testRegistry();
    const data = randomBytes(5000);
    const location = await startUpload(client);
    await client.send('PATCH', location, { body: data });
    const wrong = digestOf('not it');
    assertError(await client.send('PUT', `${location}?digest=${wrong}`), 400, 'DIGEST_INVALID');
    assertError(await client.head(`/v2/repo/blobs/${wrong}`), 404, 'BLOB_UNKNOWN');
    assertError(await client.head(`/v2/repo/blobs/${digestOf(data)}`), 404, 'BLOB_UNKNOWN');
    assertBlobCreated(await client.send('PUT', `${location}?digest=${digestOf(data)}`), 'repo', digestOf(data));
  });

  it('PUT without a digest, or with a malformed one, answers 400 DIGEST_INVALID', async () => {
    const { client } = testRegistry();
    const location = await startUpload(client);
    assertError(await client.send('PUT', location), 400, 'DIGEST_INVALID');
    assertError(await client.send('PUT', `${location}?digest=`), 400, 'DIGEST_INVALID');
    assertError(await client.send('PUT', `${location}?digest=sha256:${'A'.repeat(64)}`), 400, 'DIGEST_INVALID');
    assertError(await client.send('PUT', `${location}?digest=sha1:${'a'.repeat(40)}`), 400, 'DIGEST_INVALID');
  });

  it('sha512: single POST, and a chunked session closed with a sha512 digest', async () => {
    const { client } = testRegistry();
    const data = randomBytes(70_000);
    const d512 = digestOf(data, 'sha512');
    assertBlobCreated(await client.send('POST', `/v2/repo/blobs/uploads/?digest=${d512}`, { body: data }), 'repo', d512);
    const got = await client.get(`/v2/repo/blobs/${d512}`);
    assert.deepEqual(got.body, data);
    assert.equal(got.headers['docker-content-digest'], d512);

    const other = randomBytes(30_000);
    const location = await startUpload(client, 'sha512/repo');
    await client.send('PATCH', location, { body: other.subarray(0, 10_000), headers: { 'content-range': '0-9999' } });
    const put = await client.send('PUT', `${location}?digest=${digestOf(other, 'sha512')}`, { body: other.subarray(10_000) });
    assertBlobCreated(put, 'sha512/repo', digestOf(other, 'sha512'));
    assert.deepEqual((await client.get(`/v2/sha512/repo/blobs/${digestOf(other, 'sha512')}`)).body, other);
  });

  it('an empty blob can be pushed in both ways', async () => {
    const { client } = testRegistry();
    const empty = Buffer.alloc(0);
    const digest = digestOf(empty);
    assertBlobCreated(await client.send('POST', `/v2/repo/blobs/uploads/?digest=${digest}`, { body: empty }), 'repo', digest);
    const location = await startUpload(client, 'other');
    assertBlobCreated(await client.send('PUT', `${location}?digest=${digest}`), 'other', digest);
    const got = await client.get(`/v2/other/blobs/${digest}`);
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-length'], '0');
    assert.equal(got.body.length, 0);
  });

  it('DELETE of a session answers 204; the session is then unknown', async () => {
    const { client } = testRegistry();
    const location = await startUpload(client);
    await client.send('PATCH', location, { body: 'some data' });
    const reply = await client.send('DELETE', location);
    assert.equal(reply.status, 204);
    assertError(await client.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(await client.send('DELETE', location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('unknown, foreign and malformed session ids answer 404 BLOB_UPLOAD_UNKNOWN on every session route', async () => {
    const { client } = testRegistry();
    const location = await startUpload(client, 'mine');
    const uuid = location.split('/').pop()!;
    const ids = [UNKNOWN_UPLOAD, 'not-a-uuid', UNKNOWN_UPLOAD.toUpperCase(), '..', '%2e%2e'];
    for (const [repository, id] of [...ids.map((id) => ['repo', id] as const), ['theirs', uuid] as const]) {
      const base = `/v2/${repository}/blobs/uploads/${id}`;
      assertError(await client.get(base), 404, 'BLOB_UPLOAD_UNKNOWN');
      assertError(await client.send('PATCH', base, { body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
      assertError(await client.send('PUT', `${base}?digest=${digestOf('x')}`, { body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
      assertError(await client.send('DELETE', base), 404, 'BLOB_UPLOAD_UNKNOWN');
    }
    assert.equal((await client.get(location)).status, 204, 'the real session is untouched');
  });

  it('two sessions of one repository do not mix', async () => {
    const { client } = testRegistry();
    const [a, b] = [randomBytes(3000), randomBytes(4000)];
    const [la, lb] = [await startUpload(client), await startUpload(client)];
    assert.notEqual(la, lb);
    await Promise.all([client.send('PATCH', la, { body: a.subarray(0, 1000) }), client.send('PATCH', lb, { body: b.subarray(0, 1000) })]);
    await Promise.all([client.send('PATCH', la, { body: a.subarray(1000) }), client.send('PATCH', lb, { body: b.subarray(1000) })]);
    assertBlobCreated(await client.send('PUT', `${la}?digest=${digestOf(a)}`), 'repo', digestOf(a));
    assertBlobCreated(await client.send('PUT', `${lb}?digest=${digestOf(b)}`), 'repo', digestOf(b));
  });
});

describe('HTTP: mounting blobs (POST ?mount=&from=)', () => {
  it('mounts a blob held by another repository (201 with Location and digest)', async () => {
    const { client } = testRegistry();
    const data = randomBytes(2000);
    const digest = await client.pushBlob('source/app', data);
    const reply = await client.send('POST', `/v2/target/app/blobs/uploads/?mount=${digest}&from=source/app`);
    assertBlobCreated(reply, 'target/app', digest);
    assert.equal(reply.outcome.digest, digest);
    await assertBlob(client, 'target/app', data);
  });

  it('falls back to a new session (202) when the blob cannot be mounted', async () => {
    const { client } = testRegistry();
    const digest = await client.pushBlob('source', 'data');
    const fallbacks = [
      `?mount=${digestOf('unknown')}&from=source`, // not in `from`
      `?mount=${digest}&from=nowhere`, // `from` does not exist
      `?mount=${digest}`, // no `from`
      `?mount=${digest}&from=`, // empty `from`
      `?mount=${digest}&from=BAD..NAME`, // invalid `from`
    ];
    for (const query of fallbacks) {
      const reply = await client.send('POST', `/v2/target/blobs/uploads/${query}`);
      assertUploadHeaders(reply, 202, 'target', '0-0');
    }
    assertError(await client.head(`/v2/target/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  });

  it('mounting from the repository itself answers 201 when it holds the blob', async () => {
    const { client } = testRegistry();
    const digest = await client.pushBlob('repo', 'data');
    assertBlobCreated(await client.send('POST', `/v2/repo/blobs/uploads/?mount=${digest}&from=repo`), 'repo', digest);
  });

  it('a malformed mount digest answers 400 DIGEST_INVALID', async () => {
    const { client } = testRegistry();
    assertError(await client.send('POST', `/v2/repo/blobs/uploads/?mount=sha256:xyz&from=other`), 400, 'DIGEST_INVALID');
  });
});
