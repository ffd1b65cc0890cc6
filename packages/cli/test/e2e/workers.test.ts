/**
 * `http.workers`: several serving processes on one port under a supervising primary. Real
 * processes, real sockets: connections reach both workers, an upload continues in whichever
 * worker gets the next request, metrics count every worker, the per-client session limit counts
 * the sessions of every worker, maintenance runs once, a dead worker is replaced (and learns the
 * open sessions), and SIGTERM stops them all.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { makeImage, sha256 } from '../helpers/images.js';
import { reportIfServerDied } from './clients.js';
import { listTags, pushContent } from './registry-http.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request on a connection of its own (agent: false), so the kernel picks a worker for it. */
function send(url: string, method: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, agent: false, headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const workerPids = (server: RunningServer, msg: RegExp): Set<number> =>
  new Set(
    server
      .logRecords()
      .filter((r) => typeof r.msg === 'string' && msg.test(r.msg))
      .map((r) => Number(r.pid)),
  );

const requestLines = (server: RunningServer, route: string): Array<Record<string, unknown>> =>
  server.logRecords().filter((r) => r.msg === 'request' && r.route === route);

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function metricValue(text: string, line: RegExp): number {
  const found = text.split('\n').find((l) => line.test(l));
  return found ? Number(found.slice(found.lastIndexOf(' ') + 1)) : 0;
}

const SESSION_LIMIT = 4;
const UPLOADS_ROUTE = '/v2/{name}/blobs/uploads/';

/** Opens sessions one connection each (so both workers get some); resolves to their locations. */
async function openSessions(server: RunningServer, count: number): Promise<string[]> {
  const locations: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await send(`${server.url}/v2/workers/limit/blobs/uploads/`, 'POST');
    assert.equal(res.status, 202, res.body.toString());
    locations.push(new URL(String(res.headers.location), server.url).href);
  }
  return locations;
}

/**
 * Every attempt to open one more session is refused, and the refusals came from every worker in
 * `pids` (rounds of concurrent attempts on connections of their own, until the kernel has sent
 * some to each). Workers hear of each other's sessions within moments: give them those first.
 */
async function refusedEverywhere(server: RunningServer, pids: Set<number>): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  const refusedBy = (): Set<number> =>
    new Set(
      requestLines(server, UPLOADS_ROUTE)
        .filter((r) => r.status === 429)
        .map((r) => Number(r.pid)),
    );
  const before = refusedBy().size;
  for (let round = 0; round < 10; round++) {
    const answers = await Promise.all(Array.from({ length: 8 }, () => send(`${server.url}/v2/workers/limit/blobs/uploads/`, 'POST')));
    for (const answer of answers) assert.equal(answer.status, 429, `one session too many was admitted: ${answer.body.toString()}`);
    await new Promise((r) => setTimeout(r, 50)); // the log lines follow the responses
    if ([...pids].every((pid) => refusedBy().has(pid))) return;
  }
  assert.fail(`refusals seen from ${[...refusedBy()].join(', ')} (before: ${before}), not from every worker of ${[...pids].join(', ')}`);
}

async function cancelAll(locations: string[]): Promise<void> {
  for (const location of locations) assert.equal((await send(location, 'DELETE')).status, 204);
}

describe('two serving processes (http.workers: 2)', () => {
  let server: RunningServer;

  before(async () => {
    server = await startServer({
      config: { http: { workers: 2, limits: { maxUploadSessionsPerClient: SESSION_LIMIT } }, extensions: { metrics: { enable: true } } },
    });
    await waitFor('both workers listening', () => workerPids(server, /^zot-ts listening on /).size === 2);
  });

  after(async () => {
    reportIfServerDied(server);
    await server?.stop();
  });

  it('starts two workers under the primary; both take connections', async () => {
    const workers = workerPids(server, /^zot-ts listening on /);
    assert.ok(!workers.has(server.process.pid!), 'the primary does not serve');
    assert.ok(server.logRecords().some((r) => r.msg === 'zot-ts serving with 2 worker processes' && r.pid === server.process.pid));
    // The kernel spreads new connections over the processes waiting on the shared socket.
    await waitFor('requests answered by both workers', async () => {
      await Promise.all(Array.from({ length: 8 }, () => send(`${server.url}/v2/`, 'GET')));
      return new Set(requestLines(server, '/v2/').map((r) => Number(r.pid))).size === 2;
    });
    // Background maintenance runs in one of them only.
    assert.equal(server.logRecords().filter((r) => r.msg === 'gc: scheduled').length, 1, server.logs());
  });

  it('a chunked upload continues in whichever worker gets the next request', async () => {
    const data = randomBytes(3 * 256 * 1024 + 1234);
    const digest = sha256(data);
    const pids = new Set<number>();
    for (let attempt = 0; attempt < 5 && pids.size < 2; attempt++) {
      const repository = `workers/chunked${attempt}`;
      const start = await send(`${server.url}/v2/${repository}/blobs/uploads/`, 'POST');
      assert.equal(start.status, 202);
      let location = String(start.headers.location);
      let offset = 0;
      const linesBefore = requestLines(server, '/v2/{name}/blobs/uploads/{uploadId}').length;
      for (let _chunk = 0; offset < data.length; _chunk++) {
        const part = data.subarray(offset, offset + 256 * 1024);
        const res = await send(new URL(location, server.url).href, 'PATCH', part, {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `${offset}-${offset + part.length - 1}`,
        });
        assert.equal(res.status, 202, res.body.toString());
        assert.equal(res.headers.range, `0-${offset + part.length - 1}`);
        offset += part.length;
        location = String(res.headers.location);
      }
      const done = await send(`${new URL(location, server.url).href}?digest=${digest}`, 'PUT');
      assert.equal(done.status, 201, done.body.toString());
      const pulled = await send(`${server.url}/v2/${repository}/blobs/${digest}`, 'GET');
      assert.equal(pulled.status, 200);
      assert.ok(pulled.body.equals(data), 'the blob is exactly the bytes sent');
      for (const line of requestLines(server, '/v2/{name}/blobs/uploads/{uploadId}').slice(linesBefore)) pids.add(Number(line.pid));
    }
    assert.equal(pids.size, 2, 'the chunks of one upload went to both workers');
  });

  it('a scrape counts the requests of every worker', async () => {
    await Promise.all(Array.from({ length: 20 }, () => send(`${server.url}/v2/`, 'GET')));
    // A log line is written just after its response: wait until both sides have settled.
    let counted = 0;
    let logged = -1;
    await waitFor(
      'the scrape and the log lines to agree',
      async () => {
        const metrics = await send(`${server.url}/metrics`, 'GET');
        assert.equal(metrics.status, 200);
        counted = metricValue(metrics.body.toString(), /^zot_http_requests_total\{method="GET",route="\/v2\/",status="200"\}/);
        logged = requestLines(server, '/v2/').length;
        return counted === logged;
      },
      5000,
    ).catch(() => undefined);
    assert.equal(counted, logged, 'one figure for all workers, equal to the log lines of both');
    assert.ok(counted >= 20);
  });

  it('storage gauges follow changes made through the other worker', async () => {
    // A scrape shows the largest value any worker holds, so a worker that missed a cancel would
    // keep the count up. Each request on a new connection: start and cancel often land apart.
    const sessions = async (): Promise<number> =>
      metricValue((await send(`${server.url}/metrics`, 'GET')).body.toString(), /^zot_upload_sessions_in_progress /);
    const settled = async (expected: number): Promise<boolean> => {
      const seen = await Promise.all(Array.from({ length: 4 }, sessions));
      return seen.every((n) => n === expected);
    };
    await waitFor('no upload session open', () => settled(0));
    for (let round = 0; round < 3; round++) {
      const started = await Promise.all(Array.from({ length: 3 }, () => send(`${server.url}/v2/workers/gauge/blobs/uploads/`, 'POST')));
      for (const res of started) assert.equal(res.status, 202);
      await waitFor('three sessions counted', () => settled(3));
      for (const res of started) assert.equal((await send(new URL(String(res.headers.location), server.url).href, 'DELETE')).status, 204);
      await waitFor('the cancelled sessions gone from every worker', () => settled(0));
    }
  });

  it('the per-client limit on open upload sessions counts the sessions of both workers', async () => {
    const workers = workerPids(server, /^zot-ts listening on /);
    const sessions = await openSessions(server, SESSION_LIMIT);
    await refusedEverywhere(server, workers);
    // A session cancelled through either worker frees its place in both.
    await cancelAll(sessions.splice(0, 1));
    await new Promise((r) => setTimeout(r, 300));
    sessions.push(...(await openSessions(server, 1)));
    await refusedEverywhere(server, workers);
    await cancelAll(sessions);
  });

  it('a worker that dies is replaced, and the registry keeps answering', async () => {
    const before = workerPids(server, /^zot-ts listening on /);
    const sessions = await openSessions(server, SESSION_LIMIT);
    const victim = [...before][0]!;
    process.kill(victim, 'SIGKILL');
    await waitFor('a replacement worker', () => workerPids(server, /^zot-ts listening on /).size === 3);
    assert.ok(server.logRecords().some((r) => r.msg === 'a worker process died: starting a new one' && r.worker === victim));
    // The replacement asked the other worker for the open sessions: it refuses one more too.
    const now = new Set([...workerPids(server, /^zot-ts listening on /)].filter((pid) => pid !== victim));
    await refusedEverywhere(server, now);
    await cancelAll(sessions);
    for (let i = 0; i < 10; i++) assert.equal((await send(`${server.url}/v2/`, 'GET')).status, 200);
    const image = makeImage({ layers: 1, layerSize: 1024 });
    await pushContent(server.url, 'workers/after-restart', 'v1', image);
    assert.deepEqual(await listTags(server.url, 'workers/after-restart'), ['v1']);
  });

  it('SIGTERM stops the primary and every worker', async () => {
    const workers = workerPids(server, /^zot-ts listening on /);
    const status = await server.stop();
    assert.equal(status.code, 0, server.logs());
    for (const pid of workers) {
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} is gone`);
    }
  });
});

describe('http.workers: startup failures', () => {
  it('workers that cannot listen stop the whole server: exit 1 with the reason', async (t) => {
    const first = await startServer();
    t.after(() => first.stop());
    await assert.rejects(
      startServer({ config: { http: { port: String(first.port), workers: 2 } } }),
      (err: Error) =>
        /exited before answering \(code 1/.test(err.message) &&
        /127\.0\.0\.1:\d+ is already in use/.test(err.message) &&
        /a worker process could not start: stopping/.test(err.message),
    );
  });
});
