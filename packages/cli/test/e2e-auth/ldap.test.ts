/**
 * LDAP login against a real OpenLDAP slapd (StartTLS, examples/config-ldap.yaml) with the real
 * clients: podman login + push + pull, skopeo --creds, group-based policy (403 push, pull allowed),
 * 401 for wrong passwords, unknown users and filter injection, and 503 (not a hang) while slapd
 * is stopped, with recovery once it is back.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { slapdAvailable, startSlapd, type SlapdServer } from '@zotjs/auth/testing';
import { makeTempDir, startServer, type RunningServer } from '../helpers/server.js';
import { ClientSandbox, CommandError, isRoot, makeImage, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
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
  type Secrets,
} from './support.js';

const skip =
  skipUnlessPrograms('skopeo', 'podman', 'buildah', 'openssl', 'htpasswd') ||
  (slapdAvailable() || isRoot ? false : 'needs slapd and ldap-utils');

describe('LDAP over HTTPS (examples/config-ldap.yaml, real slapd with StartTLS)', { skip }, () => {
  let secrets: Secrets;
  let slapd: SlapdServer;
  let server: RunningServer;
  let clients: ClientSandbox;
  let certDir: string;
  let credentialsFile: string;

  before(async () => {
    secrets = await makeSecrets();
    slapd = await startSlapd({
      dir: join(makeTempDir('zot-e2e-slapd-'), 'slapd'),
      users: [
        { uid: 'dev1', password: 'dev1-Secret-1' },
        { uid: 'guest', password: 'guest-Secret-2' },
        { uid: 'root1', password: 'root1-Secret-3' },
      ],
      groups: [
        { cn: 'developers', members: ['dev1'] },
        { cn: 'registry-admins', members: ['root1'] },
      ],
      tls: { cert: secrets.certs.server.cert, key: secrets.certs.server.key, ca: secrets.certs.ca.cert },
    });
    credentialsFile = join(secrets.dir, 'ldap-credentials.json');
    await writeFile(credentialsFile, JSON.stringify({ bindDN: slapd.bindDN, bindPassword: slapd.bindPassword }));
    await lockDown(secrets);
    const { chmod } = await import('node:fs/promises');
    await chmod(credentialsFile, 0o600);

    const example = await exampleConfig('config-ldap.yaml');
    const http = example.http as Record<string, Record<string, unknown>>;
    const ldap = (http.auth as { ldap: Record<string, unknown> }).ldap;
    server = await startServer({
      format: 'yaml',
      config: {
        http: {
          ...http,
          tls: { cert: secrets.certs.server.cert, key: secrets.certs.server.key },
          auth: {
            failDelay: 0,
            ldap: {
              ...ldap,
              address: '127.0.0.1',
              port: slapd.port,
              caCert: secrets.certs.ca.cert,
              credentialsFile,
              baseDN: slapd.peopleDN,
              queryTimeout: 3,
            },
          },
          accessControl: {
            ...(http.accessControl as object),
            adminPolicy: { groups: [`cn=registry-admins,${slapd.groupsDN}`], actions: ['read', 'create', 'update', 'delete'] },
          },
        },
      },
    });
    clients = await ClientSandbox.create('zot-e2e-ldap-');
    certDir = await clientCertDir(clients, secrets.certs.ca.cert);
  });

  after(async () => {
    await server?.stop();
    await slapd?.stop();
    await clients?.cleanup();
  });

  it('runs unprivileged; the LDAP credentials file and the key are private to it', async () => {
    await assertRunsUnprivileged(server);
    await assertPrivate(credentialsFile);
    await assertPrivate(secrets.certs.server.key);
  });

  it('podman login + push + pull as a member of developers', async () => {
    await clients.buildImage('localhost/ldap-app:1', { files: 2, fileSize: 40_000 });
    await clients.podman('login', '--cert-dir', certDir, '-u', 'dev1', '-p', 'dev1-Secret-1', server.host);
    await clients.podman('push', '--cert-dir', certDir, 'localhost/ldap-app:1', `${server.host}/apps/ldap-app:1`);
    await clients.podman('rmi', 'localhost/ldap-app:1');
    await clients.podman('pull', '--cert-dir', certDir, `${server.host}/apps/ldap-app:1`);
    await clients.podman('logout', server.host);
  });

  it('skopeo --creds: guest may pull, its push is denied with 403; admins (by group DN) may delete', async () => {
    const image = makeImage({ layers: 1, layerSize: 30_000 });
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    await clients.skopeo(
      'copy',
      '--dest-cert-dir',
      certDir,
      '--dest-creds',
      'dev1:dev1-Secret-1',
      `oci:${layout}:v1`,
      `docker://${server.host}/apps/skopeo:v1`,
    );
    const out = await clients.makeDir('out');
    await clients.skopeo(
      'copy',
      '--src-cert-dir',
      certDir,
      '--src-creds',
      'guest:guest-Secret-2',
      `docker://${server.host}/apps/skopeo:v1`,
      `dir:${out}`,
    );
    assert.equal((await readDirCopy(out)).manifestDigest, image.descriptor.digest);
    await assert.rejects(
      clients.skopeo(
        'copy',
        '--dest-cert-dir',
        certDir,
        '--dest-creds',
        'guest:guest-Secret-2',
        `oci:${layout}:v1`,
        `docker://${server.host}/apps/guest:v1`,
      ),
      (err: unknown) => err instanceof CommandError && /denied|403/i.test(err.result.stderr),
    );
    const denied = await httpsCall(`${server.url}/v2/apps/skopeo/manifests/v1`, {
      ca: secrets.certs.ca.cert,
      method: 'DELETE',
      user: 'dev1',
      password: 'dev1-Secret-1',
    });
    assert.equal(denied.status, 403);
    await clients.skopeo('delete', '--cert-dir', certDir, '--creds', 'root1:root1-Secret-3', `docker://${server.host}/apps/skopeo:v1`);
  });

  it('wrong password, unknown user and filter injection: 401 with the challenge', async () => {
    for (const [user, password] of [
      ['dev1', 'Wrong-Password-7'],
      ['nobody', 'dev1-Secret-1'],
      ['*', 'dev1-Secret-1'],
      ['dev*', 'dev1-Secret-1'],
      ['dev1)(uid=*', 'dev1-Secret-1'],
      ['dev1', ''],
    ] as const) {
      const answer = await httpsCall(`${server.url}/v2/`, { ca: secrets.certs.ca.cert, user, password });
      assert.equal(answer.status, 401, `${user}:${password}`);
      assert.equal(answer.headers['www-authenticate'], 'Basic realm="zot"');
      assert.equal(errorCode(answer.body), 'UNAUTHORIZED');
    }
    await assert.rejects(
      clients.podman('login', '--cert-dir', certDir, '-u', 'dev1', '-p', 'Wrong-Password-7', server.host),
      (err: unknown) => err instanceof CommandError && /unauthorized|401|invalid/i.test(err.result.stderr),
    );
    // A good login clears this address's failure count (the brute-force slowdown would otherwise
    // delay the next test's first attempts).
    assert.equal(
      (await httpsCall(`${server.url}/v2/`, { ca: secrets.certs.ca.cert, user: 'dev1', password: 'dev1-Secret-1' })).status,
      200,
    );
    assert.ok(!server.logs().includes('Wrong-Password-7'));
    assert.ok(!server.logs().includes(slapd.bindPassword), 'the bind password is never logged');
  });

  it('slapd stopped: a new login answers 503 quickly (no hang); logins work again once it is back', async () => {
    await slapd.stop();
    try {
      const started = Date.now();
      const answer = await httpsCall(`${server.url}/v2/`, { ca: secrets.certs.ca.cert, user: 'guest', password: 'not-cached-password' });
      const elapsed = Date.now() - started;
      assert.equal(answer.status, 503);
      assert.equal(errorCode(answer.body), 'UNAVAILABLE');
      // queryTimeout is 3 s; a refused connection answers at once. Generous for a loaded CI machine.
      assert.ok(elapsed < 6000, `answered in ${elapsed} ms`);
      await assert.rejects(clients.podman('login', '--cert-dir', certDir, '-u', 'guest', '-p', 'another-uncached-pw', server.host));
    } finally {
      await slapd.start();
    }
    await clients.podman('login', '--cert-dir', certDir, '-u', 'guest', '-p', 'guest-Secret-2', server.host);
    await clients.podman('logout', server.host);
  });
});
