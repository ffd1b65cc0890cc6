import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { startServer, serverUser } from './helpers/server.js';

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
