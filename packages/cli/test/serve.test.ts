import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { cliPath, makeTempDir, startServer, serverUser } from './helpers/server.js';

test('serve: a config file starts a registry that stores pushes under rootDirectory', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());

  const base = await fetch(`${server.url}/v2/`);
  assert.equal(base.status, 200);
  assert.equal(base.headers.get('docker-distribution-api-version'), 'registry/2.0');

  const blob = Buffer.from('hello from the serve test');
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const put = await fetch(`${server.url}/v2/serve/test/blobs/uploads/?digest=${digest}`, { method: 'POST', body: blob });
  assert.equal(put.status, 201, await put.text());
  const get = await fetch(`${server.url}/v2/serve/test/blobs/${digest}`);
  assert.equal(get.status, 200);
  assert.deepEqual(Buffer.from(await get.arrayBuffer()), blob);

  const onDisk = statSync(`${server.rootDirectory}/serve/test/blobs/sha256/${digest.slice(7)}`);
  assert.equal(onDisk.size, blob.length);
  const user = serverUser();
  if (user) assert.equal(onDisk.uid, user.uid, 'the registry runs as the unprivileged user');

  const startup = server.logRecords().find((r) => typeof r.msg === 'string' && r.msg.startsWith('zot-ts listening'));
  assert.ok(startup, server.logs());
  assert.equal(startup.config, server.configPath);
  assert.equal(startup.rootDirectory, server.rootDirectory);
  const requests = server.logRecords().filter((r) => r.msg === 'request' && r.operation === 'startUpload');
  assert.equal(requests.length, 1, server.logs());
  assert.equal(requests[0]!.repository, 'serve/test');
  assert.equal(requests[0]!.bytesIn, blob.length);
});

test('serve: a YAML config works the same', async (t) => {
  const server = await startServer({ format: 'yaml' });
  t.after(() => server.stop());
  assert.match(server.configPath, /\.yaml$/);
  const res = await fetch(`${server.url}/v2/`);
  assert.equal(res.status, 200);
});

test('serve: log.output sends the JSON logs to a file', async (t) => {
  const server = await startServer({ config: (dir) => ({ log: { level: 'debug', output: `${dir}/logs/zot.log` } }) });
  t.after(() => server.stop());
  await fetch(`${server.url}/v2/`);
  const status = await server.stop();
  assert.equal(status.code, 0);
  const lines = readFileSync(`${server.tempDir}/logs/zot.log`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('zot-ts listening')));
  assert.ok(lines.some((l) => l.msg === 'request' && l.route === '/v2/'));
  assert.ok(lines.some((l) => l.msg === 'stopped'));
  assert.ok(!server.logs().includes('"msg":"request"'), 'nothing went to stdout');
});

test('serve: a port already in use is a clear startup error, exit 1', async (t) => {
  const first = await startServer();
  t.after(() => first.stop());
  await assert.rejects(
    startServer({ config: { http: { port: String(first.port) } } }),
    (err: Error) => /exited before answering \(code 1/.test(err.message) && /127\.0\.0\.1:\d+ is already in use/.test(err.message),
  );
});

test('serve with no config file: the embedded default (./zot-data on 127.0.0.1:5000)', async (t) => {
  if (!(await portIsFree(5000))) {
    t.skip('port 5000 is in use on this machine');
    return;
  }
  const cwd = makeTempDir('zot-cli-default-');
  const user = serverUser();
  const child = spawn(process.execPath, [cliPath, 'serve'], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));

  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await fetch('http://127.0.0.1:5000/v2/').catch(() => undefined);
    if (res?.status === 200) break;
    if (Date.now() > deadline) assert.fail(`the default server did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const blob = Buffer.from('default config blob');
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const put = await fetch(`http://127.0.0.1:5000/v2/default/repo/blobs/uploads/?digest=${digest}`, { method: 'POST', body: blob });
  assert.equal(put.status, 201);
  assert.ok(existsSync(`${cwd}/zot-data/default/repo/blobs/sha256/${digest.slice(7)}`), 'stored under ./zot-data');

  child.kill('SIGINT');
  assert.equal(await exited, 0, output);
  const startup = output.split('\n').find((l) => l.includes('zot-ts listening'));
  assert.ok(startup, output);
  const record = JSON.parse(startup) as Record<string, unknown>;
  assert.match(String(record.config), /embedded default/);
  assert.equal(record.rootDirectory, `${cwd}/zot-data`);
  assert.equal(record.url, 'http://127.0.0.1:5000');
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createNetServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
