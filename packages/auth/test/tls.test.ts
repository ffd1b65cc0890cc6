/** HTTPS and mutual TLS with real openssl-made certificates, and certificate reload without restart. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type PeerCertificate } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCertificates, type TestCertificates } from '../src/testing/certs.js';
import { htpasswdAvailable, htpasswdSet } from '../src/testing/htpasswd.js';
import { TlsMaterial } from '../src/tls.js';
import { call, startHttpsRegistry, type TestRegistry } from './helpers/https-registry.js';
import { captureLogger } from './helpers/logger.js';

const skip = htpasswdAvailable() ? false : 'htpasswd (apache2-utils) is not installed';

function peerCertificate(port: number, ca: Buffer): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('TLS', { skip }, () => {
  let dir: string;
  let certs: TestCertificates;
  let ca: Buffer;
  let htpasswd: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zot-tls-'));
    certs = await generateCertificates(join(dir, 'certs'), { clients: ['alice', 'bob'] });
    ca = await readFile(certs.ca.cert);
    htpasswd = join(dir, 'htpasswd');
    await htpasswdSet(htpasswd, 'carol', 'carol-pw', 'bcrypt');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const client = (name: string) => ({ ca, cert: readFile(certs.clients[name]!.cert), key: readFile(certs.clients[name]!.key) });

  describe('server TLS only', () => {
    let registry: TestRegistry;
    before(async () => {
      registry = await startHttpsRegistry({ tls: { cert: certs.server.cert, key: certs.server.key } });
    });
    after(() => registry.close());

    test('serves HTTPS to a client trusting the CA; refuses clients without it', async () => {
      assert.equal((await call(`${registry.url}/v2/`, { ca })).status, 200);
      await assert.rejects(call(`${registry.url}/v2/`), /self-signed|unable to verify|certificate/i);
    });

    test('TLS 1.2 is the minimum: a TLS 1.1 client is refused at the handshake', async () => {
      await assert.rejects(call(`${registry.url}/v2/`, { ca, maxVersion: 'TLSv1.1' }), /protocol version/i);
      assert.equal((await call(`${registry.url}/v2/`, { ca, maxVersion: 'TLSv1.2' })).status, 200);
    });
  });

  describe('mutual TLS required (cacert, no password backend)', () => {
    let registry: TestRegistry;
    before(async () => {
      registry = await startHttpsRegistry({
        tls: { cert: certs.server.cert, key: certs.server.key, cacert: certs.ca.cert },
        accessControl: {
          repositories: { '**': { policies: [{ users: ['alice'], actions: ['read', 'create'] }], defaultPolicy: ['read'] } },
        },
      });
    });
    after(() => registry.close());

    test('a client with a certificate from the CA gets in; its CN is the identity used by the policy', async () => {
      const alice = client('alice');
      const aliceAuth = { ca, cert: await alice.cert, key: await alice.key };
      assert.equal((await call(`${registry.url}/v2/`, aliceAuth)).status, 200);
      assert.equal((await call(`${registry.url}/v2/team/app/blobs/uploads/`, { ...aliceAuth, method: 'POST' })).status, 202);
      const bob = client('bob');
      const denied = await call(`${registry.url}/v2/team/app/blobs/uploads/`, {
        ca,
        cert: await bob.cert,
        key: await bob.key,
        method: 'POST',
      });
      assert.equal(denied.status, 403, 'bob (CN=bob) may only read');
      assert.equal(JSON.parse(denied.body).errors[0].code, 'DENIED');
    });

    test('no certificate, or one from another CA, is refused at the handshake: never served', async () => {
      await assert.rejects(call(`${registry.url}/v2/`, { ca }), /certificate|alert|socket hang up|ECONNRESET/i);
      await assert.rejects(
        call(`${registry.url}/v2/`, { ca, cert: await readFile(certs.rogueClient.cert), key: await readFile(certs.rogueClient.key) }),
        /certificate|alert|socket hang up|ECONNRESET|unknown ca/i,
      );
      // Basic credentials are no substitute when no password backend is configured.
      await assert.rejects(
        call(`${registry.url}/v2/`, { ca, user: 'alice', password: 'x' }),
        /certificate|alert|socket hang up|ECONNRESET/i,
      );
    });
  });

  describe('mixed mode (cacert and htpasswd)', () => {
    let registry: TestRegistry;
    before(async () => {
      registry = await startHttpsRegistry({
        realm: 'mixed',
        tls: { cert: certs.server.cert, key: certs.server.key, cacert: certs.ca.cert },
        auth: { htpasswd: { path: htpasswd } },
      });
    });
    after(() => registry.close());

    test('a valid certificate or valid Basic credentials authenticate; neither gets 401 with the challenge', async () => {
      const alice = client('alice');
      assert.equal((await call(`${registry.url}/v2/`, { ca, cert: await alice.cert, key: await alice.key })).status, 200);
      assert.equal((await call(`${registry.url}/v2/`, { ca, user: 'carol', password: 'carol-pw' })).status, 200);
      const anonymous = await call(`${registry.url}/v2/`, { ca });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="mixed"');
      // A certificate from an unknown CA is not an identity: the client is treated as anonymous.
      const rogue = await call(`${registry.url}/v2/`, {
        ca,
        cert: await readFile(certs.rogueClient.cert),
        key: await readFile(certs.rogueClient.key),
      });
      assert.equal(rogue.status, 401);
      assert.equal((await call(`${registry.url}/v2/`, { ca, user: 'carol', password: 'wrong' })).status, 401);
    });
  });

  describe('certificate reload', () => {
    test('reload() swaps the certificate for new connections; a broken pair is refused and the old one kept', async () => {
      const live = join(dir, 'live');
      const { mkdir } = await import('node:fs/promises');
      await mkdir(live, { recursive: true });
      const certPath = join(live, 'server.crt');
      const keyPath = join(live, 'server.key');
      await copyFile(certs.server.cert, certPath);
      await copyFile(certs.server.key, keyPath);
      const { logger, lines } = captureLogger();
      const registry = await startHttpsRegistry({ tls: { cert: certPath, key: keyPath } }, { logger });
      try {
        const first = await peerCertificate(registry.port, ca);
        // Rotate: a new server certificate and key (from a new CA, to tell them apart easily).
        const rotated = await generateCertificates(join(dir, 'rotated'), { clients: [] });
        const rotatedCa = await readFile(rotated.ca.cert);
        await copyFile(rotated.server.cert, certPath);
        await copyFile(rotated.server.key, keyPath);
        assert.deepEqual(await registry.security.tls!.reload(registry.server), { ok: true });
        const second = await peerCertificate(registry.port, rotatedCa);
        assert.notEqual(second.fingerprint256, first.fingerprint256);
        assert.equal((await call(`${registry.url}/v2/`, { ca: rotatedCa })).status, 200);

        // A key that does not match the certificate: refused, the running one stays.
        await copyFile(certs.server.key, keyPath);
        const result = await registry.security.tls!.reload(registry.server);
        assert.equal(result.ok, false);
        assert.equal((await peerCertificate(registry.port, rotatedCa)).fingerprint256, second.fingerprint256);
        assert.ok(lines.some((l) => l.level === 'error' && l.msg.includes('reload failed')));
      } finally {
        await registry.close();
      }
    });

    test('startup fails on a missing file or a key that does not match', async () => {
      assert.throws(
        () => new TlsMaterial({ cert: join(dir, 'nope.crt'), key: certs.server.key }, { requireClientCertificate: false }),
        /ENOENT/,
      );
      assert.throws(
        () => new TlsMaterial({ cert: certs.server.cert, key: certs.clients.alice!.key }, { requireClientCertificate: false }),
        /key values mismatch|KEY_VALUES_MISMATCH/i,
      );
    });

    test('server options: TLS 1.2 minimum; client certificates requested with a CA, required unless mixed mode', () => {
      const plain = new TlsMaterial({ cert: certs.server.cert, key: certs.server.key }, { requireClientCertificate: true });
      assert.equal(plain.serverOptions().minVersion, 'TLSv1.2');
      assert.equal(plain.serverOptions().requestCert, false);
      const required = new TlsMaterial(
        { cert: certs.server.cert, key: certs.server.key, cacert: certs.ca.cert },
        { requireClientCertificate: true },
      );
      assert.equal(required.serverOptions().requestCert, true);
      assert.equal(required.serverOptions().rejectUnauthorized, true);
      const mixed = new TlsMaterial(
        { cert: certs.server.cert, key: certs.server.key, cacert: certs.ca.cert },
        { requireClientCertificate: false },
      );
      assert.equal(mixed.serverOptions().requestCert, true);
      assert.equal(mixed.serverOptions().rejectUnauthorized, false);
    });
  });
});
