import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { Registry, createRegistryHandler, type RegistryHandler } from '../src/index.js';
import { MemoryStorage } from './support/memory-storage.js';

function handlerWith(maxUploadSessionsPerClient: number, uploadExpiryMs = 60_000): RegistryHandler {
  return createRegistryHandler({ registry: new Registry({ storage: new MemoryStorage(), uploadExpiryMs }), maxUploadSessionsPerClient });
}

async function send(handler: RegistryHandler, method: string, url: string, from: string, body?: Buffer) {
  const [path, query = ''] = url.split('?') as [string, string?];
  const response = await handler({
    method,
    path,
    query: new URLSearchParams(query),
    headers: body ? { 'content-length': String(body.length) } : {},
    remoteAddress: from,
    ...(body ? { body: Readable.from([body]) } : {}),
  });
  if (response.body instanceof Readable) response.body.resume();
  const text = response.body && !(response.body instanceof Readable) ? Buffer.from(response.body).toString() : '';
  return { status: response.status, headers: response.headers, text };
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('limit: upload sessions per client', () => {
  it('answers 429 TOOMANYREQUESTS past the limit; finishing or cancelling a session frees a place', async () => {
    const handler = handlerWith(2);
    const first = await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1');
    const second = await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1');
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    const refused = await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1');
    assert.equal(refused.status, 429);
    assert.equal(JSON.parse(refused.text).errors[0].code, 'TOOMANYREQUESTS');
    assert.equal(refused.headers['Retry-After'], '60');
    assert.equal((await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.2')).status, 202, 'another client is not affected');

    const data = Buffer.from('blob');
    const done = await send(handler, 'PUT', `${first.headers.Location}?digest=${sha256(data)}`, '10.0.0.1', data);
    assert.equal(done.status, 201);
    assert.equal((await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 202, 'a finished session frees its place');
    assert.equal((await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 429);
    assert.equal((await send(handler, 'DELETE', second.headers.Location!, '10.0.0.1')).status, 204);
    assert.equal((await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 202, 'so does a cancelled one');
  });

  it('single-request pushes (POST ?digest=) never count; sessions idle past the expiry stop counting', async () => {
    const handler = handlerWith(1, 200);
    assert.equal((await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 202);
    for (let i = 0; i < 3; i++) {
      const data = Buffer.from(`monolithic ${i}`);
      assert.equal((await send(handler, 'POST', `/v2/repo/blobs/uploads/?digest=${sha256(data)}`, '10.0.0.1', data)).status, 201);
    }
    assert.equal((await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 429);
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal((await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 202, 'the abandoned session expired');
  });

  it('0 turns the limit off', async () => {
    const handler = handlerWith(0);
    for (let i = 0; i < 20; i++) assert.equal((await send(handler, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 202);
  });
});
