import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startServer, type RunningServer } from './helpers/server.js';

const MiB = 1 << 20;

async function waitFor(what: string, condition: () => boolean, server: RunningServer, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}. Server log:\n${server.logs()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Opens an upload session and a streaming PATCH into it; the test decides when the body ends. */
async function openPatch(server: RunningServer) {
  const start = await fetch(`${server.url}/v2/shutdown/test/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202);
  const location = start.headers.get('location')!;
  const file = join(server.rootDirectory, 'shutdown/test/.uploads', location.split('/').pop()!);
  const req = request(`${server.url}${location}`, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' } });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  response.catch(() => undefined);
  return { req, response, file };
}

const sizeOf = (file: string): number => (existsSync(file) ? statSync(file).size : 0);
const logged = (server: RunningServer, msg: string): boolean => server.logRecords().some((r) => r.msg === msg);

/** True when a fresh TCP connection is refused. (A fetch could reuse a pooled keep-alive socket
 * the server has just closed, and fail with a reset instead: that says nothing about accepting.) */
function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

test('SIGTERM: stops accepting, lets an in-flight upload finish, then exits 0', async (t) => {
  const server = await startServer();
  t.after(() => server.stop(2000));
  const { req, response, file } = await openPatch(server);
  req.write(Buffer.alloc(MiB, 1));
  await waitFor('the first MiB on disk', () => sizeOf(file) === MiB, server);

  server.kill('SIGTERM');
  await waitFor('the shutdown to start', () => logged(server, 'shutting down: finishing in-flight requests'), server);
  assert.ok(await refused(server.url), 'no new connections once shutting down');

  req.end(Buffer.alloc(MiB, 2));
  const res = await response;
  res.resume();
  assert.equal(res.statusCode, 202);
  assert.equal(res.headers['range'], `0-${2 * MiB - 1}`);
  assert.equal(sizeOf(file), 2 * MiB);

  const status = await server.exited;
  assert.deepEqual(status, { code: 0, signal: null }, server.logs());
  const stopped = server.logRecords().find((r) => r.msg === 'stopped');
  assert.equal(stopped?.clean, true, server.logs());
});

test('SIGTERM: an in-flight request that does not finish is cut at the deadline, and the exit is still 0', async (t) => {
  const server = await startServer({ env: { ZOT_SHUTDOWN_DEADLINE_MS: '700' } });
  t.after(() => server.stop(2000));
  const { req, response, file } = await openPatch(server);
  req.on('error', () => undefined);
  req.write(Buffer.alloc(MiB, 1));
  await waitFor('the first MiB on disk', () => sizeOf(file) === MiB, server);

  const started = Date.now();
  server.kill('SIGTERM');
  const status = await server.exited;
  const took = Date.now() - started;
  assert.deepEqual(status, { code: 0, signal: null }, server.logs());
  assert.ok(took >= 600 && took < 5000, `exited after ${took} ms`);
  assert.ok(logged(server, 'shutdown deadline reached: closing busy connections'), server.logs());
  assert.equal(server.logRecords().find((r) => r.msg === 'stopped')?.clean, false);
  await assert.rejects(response, 'the stalled client sees its connection closed');
});

test('SIGTERM with only idle keep-alive connections exits at once', async (t) => {
  const server = await startServer();
  t.after(() => server.stop(2000));
  // fetch keeps its connection open for reuse.
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${server.url}/v2/`)).status, 200);
  const started = Date.now();
  server.kill('SIGTERM');
  const status = await server.exited;
  assert.equal(status.code, 0, server.logs());
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});
