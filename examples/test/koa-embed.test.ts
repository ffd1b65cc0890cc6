import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const example = join(dirname(fileURLToPath(import.meta.url)), '..', 'koa-embed.js');
const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('examples/koa-embed: the registry inside an existing Koa app', () => {
  let child: ChildProcess;
  let url: string;
  let root: string;
  let output = '';

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'zot-koa-embed-'));
    // The built example, run as a program, the way its header says.
    child = spawn(process.execPath, [example, '--port', '0', '--root', root], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 15_000;
    while (!/listening on (http:\/\/\S+)/.test(output)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`koa-embed did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    url = /listening on (http:\/\/\S+)/.exec(output)![1]!;
  });

  after(async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    rmSync(root, { recursive: true, force: true });
  });

  test("the app's own route answers, through the app's own middleware", async () => {
    const res = await fetch(`${url}/hello`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { hello: 'world', registry: '/v2/' });
    assert.equal(res.headers.get('x-served-by'), 'koa-embed-example');
    assert.equal(res.headers.get('docker-distribution-api-version'), null);
  });

  test('the registry answers /v2/ in the same app', async () => {
    const res = await fetch(`${url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal(res.headers.get('x-served-by'), 'koa-embed-example');
  });

  test('push a layer, a config and a manifest, then pull them back', async () => {
    const layer = Buffer.from('layer bytes '.repeat(1000));
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }),
    );

    // The layer in two steps (session, then PUT with the body); the config in one POST.
    const session = await fetch(`${url}/v2/demo/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(session.status, 202);
    const location = session.headers.get('location')!;
    const put = await fetch(`${url}${location}?digest=${sha256(layer)}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: layer,
    });
    assert.equal(put.status, 201, await put.text());
    const post = await fetch(`${url}/v2/demo/app/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config });
    assert.equal(post.status, 201);

    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
      }),
    );
    const pushed = await fetch(`${url}/v2/demo/app/manifests/v1`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    assert.equal(pushed.status, 201, await pushed.text());
    assert.equal(pushed.headers.get('docker-content-digest'), sha256(manifest));

    const pulled = await fetch(`${url}/v2/demo/app/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(pulled.status, 200);
    assert.equal(pulled.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(Buffer.from(await pulled.arrayBuffer()), manifest);
    const blob = await fetch(`${url}/v2/demo/app/blobs/${sha256(layer)}`);
    assert.deepEqual(Buffer.from(await blob.arrayBuffer()), layer);
    const tags = await fetch(`${url}/v2/demo/app/tags/list`);
    assert.deepEqual(await tags.json(), { name: 'demo/app', tags: ['v1'] });

    // Stored as an OCI image layout on disk, and visible to the app's own code.
    const index = JSON.parse(readFileSync(join(root, 'demo/app/index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    assert.equal(index.manifests[0]?.digest, sha256(manifest));
    const repos = await fetch(`${url}/repositories`);
    assert.deepEqual(await repos.json(), ['demo/app']);
  });

  test('the registry logged each request as one JSON line', async () => {
    // Lines are written as responses close: give the last one a moment to arrive.
    const deadline = Date.now() + 5000;
    while (!output.includes('"operation":"putManifest"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const lines = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      lines.some((l) => l.msg === 'request' && l.operation === 'putManifest' && l.repository === 'demo/app'),
      output,
    );
    assert.ok(!lines.some((l) => l.path === '/hello'), 'app routes are not the registry’s to log');
  });
});
