import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pushBlob, send, sha256, startHarness, type Harness } from './helpers/harness.js';

const CONFIG = '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}';

describe('the server over real HTTP with the OCI layout backend', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('GET /v2/ answers 200 {} with the API version header', async () => {
    const res = await send(`${h.url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.body.toString()), {});
  });

  test('HEAD on a blob: 200, Content-Length of the blob, digest header, no body', async () => {
    const data = Buffer.from('a blob for HEAD '.repeat(100));
    const digest = await pushBlob(h.url, 'head/test', data);
    const res = await send(`${h.url}/v2/head/test/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(data.length));
    assert.equal(res.headers['docker-content-digest'], digest);
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.equal(res.body.length, 0);
  });

  test('HEAD on a missing blob: 404 with Content-Length of the error and no body', async () => {
    const res = await send(`${h.url}/v2/head/test/blobs/${sha256('nope')}`, { method: 'HEAD' });
    assert.equal(res.status, 404);
    assert.ok(Number(res.headers['content-length']) > 0);
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.equal(res.body.length, 0);
  });

  test('manifest push, HEAD and GET keep the bytes and the media type', async () => {
    const configDigest = await pushBlob(h.url, 'man/test', CONFIG);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: CONFIG.length },
        layers: [],
      }),
    );
    const put = await send(`${h.url}/v2/man/test/manifests/v1`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(put.headers['docker-content-digest'], sha256(manifest));
    assert.equal(put.headers['location'], `/v2/man/test/manifests/${sha256(manifest)}`);
    assert.equal(put.body.length, 0, 'a 201 has no body (Koa would otherwise write "Created")');
    assert.equal(put.headers['content-length'], '0');
    assert.equal(put.headers['content-type'], undefined);

    const head = await send(`${h.url}/v2/man/test/manifests/v1`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(manifest.length));
    assert.equal(head.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(head.body.length, 0);

    const get = await send(`${h.url}/v2/man/test/manifests/${sha256(manifest)}`);
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, manifest);
    assert.equal(get.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json');
  });

  test('Range requests: 206 with Content-Range, suffix ranges, 416 beyond the end', async () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const digest = await pushBlob(h.url, 'range/test', data);
    const url = `${h.url}/v2/range/test/blobs/${digest}`;

    const part = await send(url, { headers: { Range: 'bytes=10-19' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 10-19/${data.length}`);
    assert.equal(part.headers['content-length'], '10');
    assert.deepEqual(part.body, data.subarray(10, 20));

    const open = await send(url, { headers: { Range: 'bytes=990-' } });
    assert.equal(open.status, 206);
    assert.deepEqual(open.body, data.subarray(990));

    const suffix = await send(url, { headers: { Range: 'bytes=-5' } });
    assert.equal(suffix.status, 206);
    assert.equal(suffix.headers['content-range'], `bytes 995-999/${data.length}`);
    assert.deepEqual(suffix.body, data.subarray(995));

    const beyond = await send(url, { headers: { Range: 'bytes=5000-6000' } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers['content-range'], `bytes */${data.length}`);

    const whole = await send(url);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['accept-ranges'], 'bytes');
    assert.deepEqual(whole.body, data);
  });

  test('errors are the spec JSON body with a matching Content-Length', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['GET', '/v2/err/test/manifests/missing', 404, 'NAME_UNKNOWN'],
      ['GET', `/v2/err/test/blobs/${sha256('x')}`, 404, 'BLOB_UNKNOWN'],
      ['GET', '/v2/Bad_Name/tags/list', 400, 'NAME_INVALID'],
      ['GET', '/v2/err/test/blobs/sha256:short', 400, 'DIGEST_INVALID'],
      ['POST', '/v2/err/test/manifests/v1', 405, 'UNSUPPORTED'],
      ['GET', '/v2/err/test/blobs/uploads/00000000-0000-4000-8000-000000000000', 404, 'BLOB_UPLOAD_UNKNOWN'],
    ];
    for (const [method, path, status, code] of cases) {
      const res = await send(`${h.url}${path}`, { method });
      assert.equal(res.status, status, `${method} ${path}: ${res.body.toString()}`);
      assert.equal(res.headers['content-type'], 'application/json', path);
      assert.equal(res.headers['content-length'], String(res.body.length), path);
      assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0', path);
      const body = JSON.parse(res.body.toString()) as { errors: Array<{ code: string; message: string }> };
      assert.equal(body.errors[0]?.code, code, `${method} ${path}`);
      assert.equal(typeof body.errors[0]?.message, 'string');
    }
  });

  test('a digest mismatch on upload is 400 DIGEST_INVALID and nothing is stored', async () => {
    const wrong = sha256('something else');
    const res = await send(`${h.url}/v2/mismatch/test/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: 'the real content' });
    assert.equal(res.status, 400);
    assert.equal((JSON.parse(res.body.toString()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'DIGEST_INVALID');
    const head = await send(`${h.url}/v2/mismatch/test/blobs/${wrong}`, { method: 'HEAD' });
    assert.equal(head.status, 404);
  });

  test('upload sessions: 202 with Location, 204 status with Range, chunked PATCH then PUT', async () => {
    const start = await send(`${h.url}/v2/chunks/test/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    assert.equal(start.body.length, 0);
    const location = start.headers['location']!;
    assert.match(location, /^\/v2\/chunks\/test\/blobs\/uploads\/[0-9a-f-]{36}$/);

    const one = await send(`${h.url}${location}`, {
      method: 'PATCH',
      headers: { 'Content-Range': '0-4', 'Content-Type': 'application/octet-stream' },
      body: 'hello',
    });
    assert.equal(one.status, 202, one.body.toString());
    assert.equal(one.headers['range'], '0-4');

    const status = await send(`${h.url}${location}`);
    assert.equal(status.status, 204);
    assert.equal(status.headers['range'], '0-4');
    assert.equal(status.headers['location'], location);
    assert.equal(status.body.length, 0);

    const outOfOrder = await send(`${h.url}${location}`, { method: 'PATCH', headers: { 'Content-Range': '10-14' }, body: 'xxxxx' });
    assert.equal(outOfOrder.status, 416);

    const done = await send(`${h.url}${location}?digest=${sha256('hello world')}`, {
      method: 'PUT',
      headers: { 'Content-Range': '5-10', 'Content-Type': 'application/octet-stream' },
      body: ' world',
    });
    assert.equal(done.status, 201, done.body.toString());
    const get = await send(`${h.url}/v2/chunks/test/blobs/${sha256('hello world')}`);
    assert.equal(get.body.toString(), 'hello world');
  });

  test('one log line per request with route, sizes and timing; never credentials or the query', async () => {
    const data = 'logged blob';
    const digest = sha256(data);
    const res = await send(`${h.url}/v2/log/test/blobs/uploads/?digest=${digest}&token=query-secret-value`, {
      method: 'POST',
      headers: { Authorization: 'Basic c2VjcmV0LXVzZXI6c2VjcmV0LXBhc3N3b3Jk' },
      body: data,
    });
    assert.equal(res.status, 201);
    await send(`${h.url}/v2/log/test/blobs/${digest}`);
    // The log line is written when the response closes, just after the client got it.
    await new Promise((r) => setTimeout(r, 50));
    const lines = h.logs().filter((l) => l.msg === 'request' && l.repository === 'log/test');
    assert.equal(lines.length, 2, JSON.stringify(lines));
    const [push, pull] = lines;
    assert.equal(push!.method, 'POST');
    assert.equal(push!.route, '/v2/{name}/blobs/uploads/');
    assert.equal(push!.path, '/v2/log/test/blobs/uploads/');
    assert.equal(push!.status, 201);
    assert.equal(push!.repository, 'log/test');
    assert.equal(push!.bytesIn, data.length);
    assert.equal(push!.digest, digest);
    assert.equal(typeof push!.durationMs, 'number');
    assert.equal(pull!.route, '/v2/{name}/blobs/{digest}');
    assert.equal(pull!.bytesOut, data.length);
    assert.equal(pull!.status, 200);
    const raw = h.rawLogs();
    assert.ok(!raw.includes('query-secret-value'), 'query strings are not logged');
    assert.ok(!raw.includes('c2VjcmV0'), 'Authorization is not logged');
    assert.ok(!/authorization/i.test(raw));
  });

  test('paths outside the API get the spec 404 JSON, not a Koa text page', async () => {
    const res = await send(`${h.url}/not-the-api`);
    assert.equal(res.status, 404);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
  });
});
