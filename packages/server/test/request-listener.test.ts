import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createRequestListener } from '../src/index.js';
import { splitTarget } from '../src/request-listener.js';
import { send } from './helpers/harness.js';

function memoryLogger(): { logger: pino.Logger; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, sink), text: () => text };
}

describe('createRequestListener', () => {
  test('splits origin-form and absolute-form targets into the raw path and the query', () => {
    assert.deepEqual(splitTarget('/v2/a/tags/list?n=10&last=b'), { path: '/v2/a/tags/list', querystring: 'n=10&last=b' });
    assert.deepEqual(splitTarget('/v2/'), { path: '/v2/', querystring: '' });
    assert.deepEqual(splitTarget('/v2/a%2Fb/tags/list'), { path: '/v2/a%2Fb/tags/list', querystring: '' }, 'not percent-decoded');
    assert.deepEqual(splitTarget('http://registry.example:5000/v2/x/manifests/latest?q=1'), {
      path: '/v2/x/manifests/latest',
      querystring: 'q=1',
    });
    assert.deepEqual(splitTarget('*'), { path: '*', querystring: '' });
  });

  test("a handler that throws gets the spec's 500 JSON body and an error log line without details for the client", async () => {
    const logs = memoryLogger();
    const server = createServer(
      createRequestListener(
        async () => {
          throw new Error('secret internal detail');
        },
        { logger: logs.logger },
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const res = await send(`${url}/v2/`);
      assert.equal(res.status, 500);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(JSON.parse(res.body.toString()).errors[0].code, 'INTERNAL_ERROR');
      assert.ok(!res.body.toString().includes('secret'), 'no internals in the body');
      const head = await send(`${url}/v2/`, { method: 'HEAD' });
      assert.equal(head.status, 500);
      assert.equal(head.body.length, 0);
      assert.match(logs.text(), /unhandled error/);
    } finally {
      server.close();
    }
  });
});
