/**
 * Mutual TLS with the real clients: the client certificate's CN is the identity used by the
 * policy (examples/config-mtls.json), clients without a valid certificate are refused at the
 * handshake, mixed mode (client CA + htpasswd) accepts either, and certificates are re-read on
 * SIGHUP without a restart.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issueCertificate, type CertificatePair } from '@zotjs/auth/testing';
import { startServer, type RunningServer } from '../helpers/server.js';
import { ClientSandbox, CommandError, makeImage, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
import { readDirCopy } from '../e2e/clients.js';
import {
  assertPrivate,
  assertRunsUnprivileged,
  clientCertDir,
  errorCode,
  exampleConfig,
  httpsCall,
  lockDown,
  makeSecrets,
  serverFingerprint,
  type Secrets,
} from './support.js';

const skip = skipUnlessPrograms('skopeo', 'podman', 'buildah', 'htpasswd', 'openssl');

describe('mutual TLS (examples/config-mtls.json)', { skip }, () => {
  let secrets: Secrets;
  let server: RunningServer;
  let clients: ClientSandbox;
  let builderDir: string;
  let viewerDir: string;
  let anonymousDir: string;
  let rogueDir: string;

  before(async () => {
    // The example grants read/create/update to CN=ci-builder and read to everyone else.
    secrets = await makeSecrets({ clients: ['ci-builder', 'viewer'] });
    const example = await exampleConfig('config-mtls.json');
    server = await startServer({
      config: {
        http: {
          ...(example.http as object),
          tls: { cert: secrets.certs.server.cert, key: secrets.certs.server.key, cacert: secrets.certs.ca.cert },
        },
      },
    });
    clients = await ClientSandbox.create('zot-e2e-mtls-');
    builderDir = await clientCertDir(clients, secrets.certs.ca.cert, secrets.certs.clients['ci-builder']);
    viewerDir = await clientCertDir(clients, secrets.certs.ca.cert, secrets.certs.clients.viewer);
    anonymousDir = await clientCertDir(clients, secrets.certs.ca.cert);
    rogueDir = await clientCertDir(clients, secrets.certs.ca.cert, secrets.certs.rogueClient);
  });

  after(async () => {
    await server?.stop();
    await clients?.cleanup();
  });

  it('runs unprivileged with a private key', async () => {
    await assertRunsUnprivileged(server);
    await assertPrivate(secrets.certs.server.key);
  });

  it('skopeo pushes with the ci-builder certificate and pulls with the viewer one', async () => {
    const image = makeImage({ layers: 2, layerSize: 60_000 });
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    await clients.skopeo('copy', '--dest-cert-dir', builderDir, `oci:${layout}:v1`, `docker://${server.host}/builds/app:v1`);
    const out = await clients.makeDir('out');
    await clients.skopeo('copy', '--src-cert-dir', viewerDir, `docker://${server.host}/builds/app:v1`, `dir:${out}`);
    assert.equal((await readDirCopy(out)).manifestDigest, image.descriptor.digest);
  });

  it("the viewer's push is denied with 403 (its CN has read only)", async () => {
    const layout = await clients.makeDir('viewer-layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: makeImage({ layers: 1, layerSize: 10_000 }) }]);
    await assert.rejects(
      clients.skopeo('copy', '--dest-cert-dir', viewerDir, `oci:${layout}:v1`, `docker://${server.host}/builds/viewer:v1`),
      (err: unknown) => err instanceof CommandError && /denied|403/i.test(err.result.stderr),
    );
    const answer = await httpsCall(`${server.url}/v2/builds/viewer/blobs/uploads/`, {
      ca: secrets.certs.ca.cert,
      method: 'POST',
      client: secrets.certs.clients.viewer,
    });
    assert.equal(answer.status, 403);
    assert.equal(errorCode(answer.body), 'DENIED');
  });

  it('podman push and pull with a client certificate (no login)', async () => {
    await clients.buildImage('localhost/mtls-app:1', { files: 1, fileSize: 30_000 });
    await clients.podman('push', '--cert-dir', builderDir, 'localhost/mtls-app:1', `${server.host}/builds/podman:1`);
    await clients.podman('rmi', 'localhost/mtls-app:1');
    await clients.podman('pull', '--cert-dir', viewerDir, `${server.host}/builds/podman:1`);
  });

  it('no client certificate, or one from another CA: refused at the handshake, never served', async () => {
    for (const dir of [anonymousDir, rogueDir]) {
      await assert.rejects(
        clients.skopeo('inspect', '--cert-dir', dir, `docker://${server.host}/builds/app:v1`),
        (err: unknown) => err instanceof CommandError && /certificate|tls|handshake|connection reset|EOF/i.test(err.result.stderr),
      );
    }
    await assert.rejects(httpsCall(`${server.url}/v2/`, { ca: secrets.certs.ca.cert }), /certificate|alert|socket hang up|ECONNRESET/i);
  });
});

describe('mixed mode: client CA and htpasswd', { skip }, () => {
  let secrets: Secrets;
  let server: RunningServer;
  let clients: ClientSandbox;

  before(async () => {
    secrets = await makeSecrets({ users: { alice: 'alice-Secret-1' }, clients: ['bob'] });
    server = await startServer({
      config: {
        http: {
          realm: 'mixed',
          tls: { cert: secrets.certs.server.cert, key: secrets.certs.server.key, cacert: secrets.certs.ca.cert },
          auth: { htpasswd: { path: secrets.htpasswd } },
        },
      },
    });
    clients = await ClientSandbox.create('zot-e2e-mixed-');
  });

  after(async () => {
    await server?.stop();
    await clients?.cleanup();
  });

  it('a valid certificate or valid credentials authenticate; neither gets 401 with the challenge', async () => {
    const ca = secrets.certs.ca.cert;
    assert.equal((await httpsCall(`${server.url}/v2/`, { ca, client: secrets.certs.clients.bob })).status, 200);
    assert.equal((await httpsCall(`${server.url}/v2/`, { ca, user: 'alice', password: 'alice-Secret-1' })).status, 200);
    const anonymous = await httpsCall(`${server.url}/v2/`, { ca });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="mixed"');
    assert.equal((await httpsCall(`${server.url}/v2/`, { ca, client: secrets.certs.rogueClient })).status, 401);
    assert.equal((await httpsCall(`${server.url}/v2/`, { ca, user: 'alice', password: 'nope' })).status, 401);

    const certOnly = await clientCertDir(clients, ca, secrets.certs.clients.bob);
    const caOnly = await clientCertDir(clients, ca);
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: makeImage({ layers: 1, layerSize: 10_000 }) }]);
    await clients.skopeo('copy', '--dest-cert-dir', certOnly, `oci:${layout}:v1`, `docker://${server.host}/mixed/by-cert:v1`);
    await clients.skopeo(
      'copy',
      '--dest-cert-dir',
      caOnly,
      '--dest-creds',
      'alice:alice-Secret-1',
      `oci:${layout}:v1`,
      `docker://${server.host}/mixed/by-password:v1`,
    );
  });

  it('SIGHUP re-reads the certificates: new connections get the new one, no restart', async () => {
    const ca = await readFile(secrets.certs.ca.cert);
    const before = await serverFingerprint(server.port, ca);
    const rotated: CertificatePair = await issueCertificate(join(secrets.dir, 'rotated'), 'server-2', secrets.certs.ca, 'server');
    await copyFile(rotated.cert, secrets.certs.server.cert);
    await copyFile(rotated.key, secrets.certs.server.key);
    await lockDown(secrets);
    const pid = server.process.pid;
    server.kill('SIGHUP');
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await serverFingerprint(server.port, ca);
    }
    assert.notEqual(after, before, 'the server presents the rotated certificate');
    assert.equal(server.process.pid, pid);
    assert.equal(server.process.exitCode, null, 'still running');
    assert.equal(
      (await httpsCall(`${server.url}/v2/`, { ca: secrets.certs.ca.cert, user: 'alice', password: 'alice-Secret-1' })).status,
      200,
    );
    assert.match(server.logs(), /TLS certificates reloaded/);
  });
});
