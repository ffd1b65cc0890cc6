/** The TLS defaults, from a real client's side: TLS 1.3 on, TLS 1.2 only with ECDHE and AEAD ciphers, the list configurable. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/testing/run.js';
import { TlsMaterial } from '../src/tls.js';

/** The negotiated protocol and cipher, or the handshake error. */
function handshake(
  port: number,
  ca: Buffer,
  options: { maxVersion?: 'TLSv1.2' | 'TLSv1.3'; ciphers?: string },
): Promise<{ protocol: string | null; cipher: string } | Error> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options }, () => {
      resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().name });
      socket.end();
    });
    socket.on('error', (err) => resolve(err));
  });
}

describe('TLS cipher defaults', () => {
  let dir: string;
  let ca: Buffer;
  const servers: Server[] = [];

  async function serve(options: { ciphers?: string } = {}): Promise<number> {
    const material = new TlsMaterial(
      { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') },
      { requireClientCertificate: false, ...options },
    );
    const server = createServer(material.serverOptions(), (_req, res) => res.end('ok'));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zot-ciphers-'));
    // An RSA certificate, so a static-RSA suite would be possible if the server allowed it.
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'server.key'),
      '-out',
      join(dir, 'server.crt'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    ca = await readFile(join(dir, 'server.crt'));
  });
  after(async () => {
    for (const server of servers) server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('TLS 1.3 by default; TLS 1.2 with ECDHE + AEAD; static RSA, CBC and SHA-1 suites refused', async () => {
    const port = await serve();
    const tls13 = await handshake(port, ca, {});
    assert.ok(!(tls13 instanceof Error), String(tls13));
    assert.equal(tls13.protocol, 'TLSv1.3');
    const tls12 = await handshake(port, ca, { maxVersion: 'TLSv1.2' });
    assert.ok(!(tls12 instanceof Error), String(tls12));
    assert.match(tls12.cipher, /^ECDHE-RSA-(AES\d+-GCM|CHACHA20-POLY1305)/);
    for (const weak of [
      'AES128-GCM-SHA256',
      'AES256-SHA',
      'ECDHE-RSA-AES128-SHA',
      'ECDHE-RSA-AES256-SHA384',
      'DHE-RSA-AES128-GCM-SHA256',
    ]) {
      const result = await handshake(port, ca, { maxVersion: 'TLSv1.2', ciphers: weak });
      assert.ok(result instanceof Error, `${weak} was accepted`);
    }
  });

  test('the cipher list is configurable, and an invalid one stops startup', async () => {
    const port = await serve({ ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' });
    const only = await handshake(port, ca, { maxVersion: 'TLSv1.2' });
    assert.ok(!(only instanceof Error));
    assert.equal(only.cipher, 'ECDHE-RSA-AES256-GCM-SHA384');
    assert.ok((await handshake(port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })) instanceof Error);
    assert.throws(
      () =>
        new TlsMaterial(
          { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') },
          { requireClientCertificate: false, ciphers: 'NOT-A-CIPHER' },
        ),
      /cipher/i,
    );
  });
});
