import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { Registry, createRegistryHandler, type RegistryHandler, type UploadSessionEvent, type UploadSessionSharing } from '../src/index.js';
import { MemoryStorage } from '../src/testing/index.js';

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

/** What a multi-process server's relay does, in memory: each change reaches every other member. */
function sharingBus(): () => UploadSessionSharing {
  const members: Array<{ receive: (event: UploadSessionEvent) => void; current: () => UploadSessionEvent[] }> = [];
  return () => {
    let self: (typeof members)[number] | undefined;
    return {
      publish: (event) => {
        for (const member of members) if (member !== self) member.receive(event);
      },
      connect: (receive, current) => {
        self = { receive, current };
        for (const member of members) for (const event of member.current()) receive(event);
        members.push(self);
      },
    };
  };
}

describe('limit: upload sessions per client, counted across processes', () => {
  const storage = new MemoryStorage();
  const join = sharingBus();
  const process = (): RegistryHandler =>
    createRegistryHandler({
      registry: new Registry({ storage, uploadExpiryMs: 60_000 }),
      maxUploadSessionsPerClient: 2,
      uploadSessionSharing: join(),
    });
  const a = process();
  const b = process();

  it('a session opened through one process counts in the other; closing it anywhere frees the place everywhere', async () => {
    const first = await send(a, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1');
    const second = await send(a, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1');
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.equal((await send(b, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 429, 'the other process knows both');
    assert.equal((await send(b, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.2')).status, 202, 'per client, there too');

    // Finished through b, which did not open it.
    const data = Buffer.from('blob');
    assert.equal((await send(b, 'PUT', `${first.headers.Location}?digest=${sha256(data)}`, '10.0.0.1', data)).status, 201);
    const third = await send(a, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1');
    assert.equal(third.status, 202, 'the opener heard that it was finished');
    assert.equal((await send(a, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 429);
    assert.equal((await send(b, 'DELETE', second.headers.Location!, '10.0.0.1')).status, 204);
    assert.equal((await send(a, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 202, 'and that one was cancelled');
  });

  it('a process that joins later (a replaced worker) starts from the sessions the others know', async () => {
    const late = process();
    assert.equal((await send(late, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.1')).status, 429);
    assert.equal((await send(late, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.2')).status, 202, '10.0.0.2 had one of two');
    assert.equal((await send(a, 'POST', '/v2/repo/blobs/uploads/', '10.0.0.2')).status, 429, 'and now has two, everywhere');
  });
});
