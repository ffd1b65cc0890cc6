import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { digestOfStream, generated, peakDuring, send, startHarness, type Harness } from './helpers/harness.js';

const MiB = 1 << 20;
const SIZE = 64 * MiB;

/** External memory (Buffers) of this process: where a buffered 64 MiB body would show. */
const buffers = (): number => process.memoryUsage().arrayBuffers;

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** Starts a streaming request; the caller writes the body and ends or destroys it. */
function openRequest(url: string, method: string, headers: Record<string, string> = {}) {
  const req = httpRequest(url, { method, headers });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  // A test that cuts the connection never awaits the response: keep that from being unhandled.
  response.catch(() => undefined);
  return { req, response };
}

async function writeAll(req: ReturnType<typeof httpRequest>, source: Readable): Promise<void> {
  for await (const chunk of source) {
    if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
  }
}

describe('streaming through the server', () => {
  let h: Harness;
  let expected: { digest: string; size: number };
  before(async () => {
    h = await startHarness();
    expected = await digestOfStream(generated(SIZE));
  });
  after(() => h.close());

  test('a 64 MiB chunked upload reaches the disk while the client is still sending, and downloads back', async () => {
    const start = await send(`${h.url}/v2/big/test/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const location = start.headers['location']!;
    const uploadId = location.split('/').pop()!;
    const uploadFile = join(h.rootDirectory, 'big/test/.uploads', uploadId);

    // Garbage not yet collected shows up too (about half the blob here); a buffering server needs all of it.
    const baseline = buffers();
    const { peak } = await peakDuring(buffers, async () => {
      // No Content-Length: chunked transfer encoding, as container clients stream layers.
      const { req, response } = openRequest(`${h.url}${location}`, 'PATCH', { 'Content-Type': 'application/octet-stream' });
      const source = generated(SIZE);
      let sent = 0;
      for await (const chunk of source) {
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        sent += (chunk as Buffer).length;
        if (sent === 16 * MiB) {
          // Pause: a server that buffers bodies would not have written anything yet.
          await waitFor('the first bytes to be written to the upload file', () => fileSize(uploadFile) >= 8 * MiB);
        }
      }
      req.end();
      const res = await response;
      res.resume();
      assert.equal(res.statusCode, 202);
      assert.equal(res.headers['range'], `0-${SIZE - 1}`);
    });
    assert.ok(peak - baseline < SIZE, `upload held the whole blob? peak ${((peak - baseline) / MiB).toFixed(1)} MiB of buffers`);

    const put = await send(`${h.url}${location}?digest=${expected.digest}`, { method: 'PUT' });
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(statSync(join(h.rootDirectory, 'big/test/blobs/sha256', expected.digest.slice(7))).size, SIZE);

    const downBaseline = buffers();
    const { result, peak: downPeak } = await peakDuring(buffers, async () => {
      const { req, response } = openRequest(`${h.url}/v2/big/test/blobs/${expected.digest}`, 'GET');
      req.end();
      const res = await response;
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], String(SIZE));
      return digestOfStream(res);
    });
    assert.deepEqual(result, expected);
    assert.ok(
      downPeak - downBaseline < SIZE,
      `download held the whole blob? peak ${((downPeak - downBaseline) / MiB).toFixed(1)} MiB of buffers`,
    );
  });

  test('a client that disconnects mid-upload leaves no visible blob and no session behind', async () => {
    const { req } = openRequest(`${h.url}/v2/cut/test/blobs/uploads/?digest=${expected.digest}`, 'POST', {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(SIZE),
    });
    req.on('error', () => undefined); // the destroy below
    await writeAll(req, generated(8 * MiB));
    // Let the bytes reach the server before cutting the connection.
    await waitFor('the upload to start on disk', () => {
      const dir = join(h.rootDirectory, 'cut/test/.uploads');
      return existsSync(dir) && readdirSync(dir).some((f) => fileSize(join(dir, f)) > 0);
    });
    req.destroy();

    await waitFor('the request log line', () => h.logs().some((l) => l.msg === 'request' && l.repository === 'cut/test'));
    const line = h.logs().find((l) => l.msg === 'request' && l.repository === 'cut/test')!;
    assert.equal(line.aborted, true);
    assert.ok((line.bytesIn as number) < SIZE);

    const head = await send(`${h.url}/v2/cut/test/blobs/${expected.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 404);
    assert.ok(!existsSync(join(h.rootDirectory, 'cut/test/blobs/sha256', expected.digest.slice(7))));
    // The one-request upload's session was never visible to the client: it is removed.
    await waitFor('the session to be removed', () => readdirSync(join(h.rootDirectory, 'cut/test/.uploads')).length === 0);
  });

  test('a client that disconnects mid-PATCH keeps the session resumable, with no blob visible', async () => {
    const start = await send(`${h.url}/v2/cutpatch/test/blobs/uploads/`, { method: 'POST' });
    const location = start.headers['location']!;
    const uploadFile = join(h.rootDirectory, 'cutpatch/test/.uploads', location.split('/').pop()!);
    const { req } = openRequest(`${h.url}${location}`, 'PATCH', { 'Content-Type': 'application/octet-stream' });
    req.on('error', () => undefined);
    await writeAll(req, generated(8 * MiB));
    await waitFor('bytes on disk', () => fileSize(uploadFile) > 0);
    req.destroy();
    await waitFor('the request log line', () =>
      h.logs().some((l) => l.msg === 'request' && l.repository === 'cutpatch/test' && l.method === 'PATCH'),
    );

    const status = await send(`${h.url}${location}`);
    assert.equal(status.status, 204);
    const received = Number(status.headers['range']!.split('-')[1]) + 1;
    assert.ok(received > 0 && received <= 8 * MiB, `session holds ${received} bytes`);
    const head = await send(`${h.url}/v2/cutpatch/test/blobs/${expected.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 404);
  });

  test('later downloads (verified once, then sent with recycled buffers) are byte-exact, also concurrent ones; a cut one closes its file', async () => {
    const url = `${h.url}/v2/big/test/blobs/${expected.digest}`;
    const download = async (): Promise<unknown> => {
      const { req, response } = openRequest(url, 'GET');
      req.end();
      const res = await response;
      assert.equal(res.statusCode, 200);
      return digestOfStream(res);
    };
    assert.deepEqual(await download(), expected);
    const openFiles = readdirSync('/proc/self/fd').length;
    const results = await Promise.all([download(), download(), download()]);
    for (const result of results) assert.deepEqual(result, expected);
    const { req, response } = openRequest(url, 'GET');
    req.end();
    const res = await response;
    await new Promise((r) => res.once('data', r));
    res.destroy();
    await waitFor('the cut download to close its file', () => readdirSync('/proc/self/fd').length <= openFiles);
    assert.deepEqual(await download(), expected, 'the server carries on');
  });

  test('a client that goes away mid-download is logged as aborted and the server carries on', async () => {
    const { req, response } = openRequest(`${h.url}/v2/big/test/blobs/${expected.digest}`, 'GET');
    req.end();
    const res = await response;
    assert.equal(res.statusCode, 200);
    await new Promise((r) => res.once('data', r));
    res.destroy();
    req.destroy();
    await waitFor('the aborted download in the log', () =>
      h.logs().some((l) => l.msg === 'request' && l.repository === 'big/test' && l.method === 'GET' && l.aborted === true),
    );
    const line = h.logs().find((l) => l.msg === 'request' && l.repository === 'big/test' && l.aborted === true)!;
    assert.ok((line.bytesOut as number) < SIZE, `bytesOut ${String(line.bytesOut)}`);
    const ok = await send(`${h.url}/v2/`);
    assert.equal(ok.status, 200);
  });
});
