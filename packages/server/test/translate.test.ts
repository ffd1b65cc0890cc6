import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { flattenHeaders, registryRequestOf } from '../src/translate.js';

function fakeReq(headers: IncomingMessage['headers']): IncomingMessage {
  // Only what the translation reads: headers, and a plain (not TLS) socket.
  return { headers, socket: {} } as unknown as IncomingMessage;
}

describe('node request -> core request', () => {
  test('headers without set-cookie are passed through as node parsed them', () => {
    const headers = { accept: 'application/json, text/plain', authorization: 'Basic eDp5' };
    assert.equal(flattenHeaders(headers), headers);
  });

  test('set-cookie (node keeps it as an array) is joined into one string', () => {
    assert.deepEqual(flattenHeaders({ 'set-cookie': ['a=1', 'b=2'], accept: '*/*' }), { 'set-cookie': 'a=1, b=2', accept: '*/*' });
  });

  test('query, signal and the other parts read as the core expects', () => {
    const controller = new AbortController();
    let made = 0;
    const lazy = {
      get signal() {
        made++;
        return controller.signal;
      },
    };
    const request = registryRequestOf(
      {
        req: fakeReq({ host: 'x' }),
        method: 'POST',
        path: '/v2/a/blobs/uploads/',
        querystring: 'digest=sha256%3Aab&mount=1',
        remoteAddress: '127.0.0.1',
      },
      undefined,
      lazy,
    );
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/v2/a/blobs/uploads/');
    assert.equal(request.remoteAddress, '127.0.0.1');
    assert.equal(request.clientCertificate, undefined);
    assert.equal(request.body, undefined);
    assert.equal(request.query.get('digest'), 'sha256:ab');
    assert.equal(request.query, request.query, 'the query is parsed once');
    assert.equal(made, 0, 'no signal is made until something asks');
    assert.equal(request.signal, controller.signal);
    assert.equal(made, 1);

    const direct = new AbortController().signal;
    const withSignal = registryRequestOf(
      { req: fakeReq({}), method: 'GET', path: '/v2/', querystring: '', remoteAddress: undefined },
      undefined,
      direct,
    );
    assert.equal(withSignal.signal, direct);
    assert.equal(withSignal.query.size, 0);
  });
});
