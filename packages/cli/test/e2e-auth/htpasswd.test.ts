/**
 * htpasswd (bcrypt from `htpasswd -B`) over HTTPS with the real clients: skopeo with --creds,
 * podman login + push + pull, 401 with the challenge for missing or wrong credentials, 403 for a
 * push the policy denies while the pull works, reload of the htpasswd file, and the registry
 * running unprivileged with its secrets readable only by it. Configs come from examples/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { htpasswdSet } from '@zotjs/auth/testing';
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
  type Secrets,
} from './support.js';

const skip = skipUnlessPrograms('skopeo', 'podman', 'buildah', 'htpasswd', 'openssl');

async function fails(run: Promise<unknown>, pattern: RegExp): Promise<string> {
  try {
    await run;
  } catch (err) {
    assert.ok(err instanceof CommandError, String(err));
    const output = `${err.result.stdout}\n${err.result.stderr}`;
    assert.match(output, pattern);
    return output;
  }
  assert.fail(`expected the command to fail with ${pattern}`);
}

describe('htpasswd over HTTPS (examples/config-htpasswd.json)', { skip }, () => {
  let secrets: Secrets;
  let server: RunningServer;
  let clients: ClientSandbox;
  let certDir: string;

  before(async () => {
    secrets = await makeSecrets({ users: { alice: 'alice-Secret-1', bob: 'bob-Secret-2' } });
    const example = await exampleConfig('config-htpasswd.json');
    server = await startServer({
      config: {
        ...example,
        http: {
          ...(example.http as object),
          tls: { cert: secrets.certs.server.cert, key: secrets.certs.server.key },
          auth: { htpasswd: { path: secrets.htpasswd }, failDelay: 0 },
        },
      },
    });
    clients = await ClientSandbox.create('zot-e2e-htpasswd-');
    certDir = await clientCertDir(clients, secrets.certs.ca.cert);
  });

  after(async () => {
    await server?.stop();
    await clients?.cleanup();
  });

  it('runs as the unprivileged user, with the key and htpasswd readable only by it', async () => {
    await assertRunsUnprivileged(server);
    await assertPrivate(secrets.certs.server.key);
    await assertPrivate(secrets.htpasswd);
    assert.ok(server.url.startsWith('https://'));
  });

  it('skopeo copy --dest-creds / --src-creds pushes and pulls over HTTPS with the CA trusted', async () => {
    const image = makeImage({ layers: 2, layerSize: 100_000 });
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    await clients.skopeo(
      'copy',
      '--dest-cert-dir',
      certDir,
      '--dest-creds',
      'alice:alice-Secret-1',
      `oci:${layout}:v1`,
      `docker://${server.host}/team/app:v1`,
    );
    const out = await clients.makeDir('out');
    await clients.skopeo(
      'copy',
      '--src-cert-dir',
      certDir,
      '--src-creds',
      'bob:bob-Secret-2',
      `docker://${server.host}/team/app:v1`,
      `dir:${out}`,
    );
    assert.equal((await readDirCopy(out)).manifestDigest, image.descriptor.digest);
  });

  it('missing credentials: 401 with the Basic challenge; skopeo is refused', async () => {
    const answer = await httpsCall(`${server.url}/v2/`, { ca: secrets.certs.ca.cert });
    assert.equal(answer.status, 401);
    assert.equal(answer.headers['www-authenticate'], 'Basic realm="zot"');
    assert.equal(errorCode(answer.body), 'UNAUTHORIZED');
    assert.equal((await httpsCall(`${server.url}/v2/team/app/tags/list`, { ca: secrets.certs.ca.cert })).status, 401);
    await fails(
      clients.skopeo('inspect', '--cert-dir', certDir, `docker://${server.host}/team/app:v1`),
      /unauthorized|authentication required|401/i,
    );
  });

  it('wrong credentials: 401 with the challenge; skopeo and podman login are refused, secrets stay out of the log', async () => {
    const answer = await httpsCall(`${server.url}/v2/`, { ca: secrets.certs.ca.cert, user: 'alice', password: 'Wrong-Password-9' });
    assert.equal(answer.status, 401);
    assert.equal(answer.headers['www-authenticate'], 'Basic realm="zot"');
    await fails(
      clients.skopeo('inspect', '--cert-dir', certDir, '--creds', 'alice:Wrong-Password-9', `docker://${server.host}/team/app:v1`),
      /unauthorized|authentication required|401/i,
    );
    await fails(
      clients.podman('login', '--cert-dir', certDir, '-u', 'nobody', '-p', 'Wrong-Password-9', server.host),
      /unauthorized|401|invalid username\/password/i,
    );
    const logs = server.logs();
    assert.ok(!logs.includes('Wrong-Password-9'), 'the wrong password is not logged');
    assert.ok(!logs.includes('alice-Secret-1'), 'the right password is not logged');
    assert.ok(!logs.includes(Buffer.from('alice:Wrong-Password-9').toString('base64')), 'the Authorization header is not logged');
  });

  it('podman login, push and pull', async () => {
    await clients.buildImage('localhost/htpasswd-app:1', { files: 2, fileSize: 50_000 });
    await clients.podman('login', '--cert-dir', certDir, '-u', 'alice', '-p', 'alice-Secret-1', server.host);
    await clients.podman('push', '--cert-dir', certDir, 'localhost/htpasswd-app:1', `${server.host}/podman/app:1`);
    await clients.podman('rmi', 'localhost/htpasswd-app:1');
    await clients.podman('pull', '--cert-dir', certDir, `${server.host}/podman/app:1`);
    const images = (await clients.podman('images', '--format', '{{.Repository}}:{{.Tag}}')).stdout;
    assert.match(images, new RegExp(`${server.host}/podman/app:1`));
    await clients.podman('logout', server.host);
  });

  it('a client without the CA is refused (the registry really speaks TLS)', async () => {
    await fails(clients.skopeo('inspect', '--creds', 'alice:alice-Secret-1', `docker://${server.host}/team/app:v1`), /x509|certificate/i);
  });

  it('users added to the htpasswd file can log in without a restart', async () => {
    await fails(
      clients.podman('login', '--cert-dir', certDir, '-u', 'carol', '-p', 'carol-Secret-3', server.host),
      /unauthorized|401|invalid/i,
    );
    await htpasswdSet(secrets.htpasswd, 'carol', 'carol-Secret-3', 'bcrypt');
    await lockDown(secrets);
    // The file is checked for changes at most once a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await clients.podman('login', '--cert-dir', certDir, '-u', 'carol', '-p', 'carol-Secret-3', server.host);
    await clients.podman('logout', server.host);
  });
});

describe('access control over HTTPS (examples/config-policy.json)', { skip }, () => {
  let secrets: Secrets;
  let server: RunningServer;
  let clients: ClientSandbox;
  let certDir: string;
  const users = { admin: 'admin-Secret-0', alice: 'alice-Secret-1', carol: 'carol-Secret-3', eve: 'eve-Secret-4' };

  before(async () => {
    secrets = await makeSecrets({ users });
    const example = await exampleConfig('config-policy.json');
    const http = example.http as Record<string, Record<string, unknown>>;
    server = await startServer({
      config: {
        http: {
          ...http,
          tls: { cert: secrets.certs.server.cert, key: secrets.certs.server.key },
          auth: { ...http.auth, htpasswd: { path: secrets.htpasswd }, failDelay: 0 },
        },
      },
    });
    clients = await ClientSandbox.create('zot-e2e-policy-');
    certDir = await clientCertDir(clients, secrets.certs.ca.cert);
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: makeImage({ layers: 1, layerSize: 50_000 }) }]);
    for (const repository of ['team/app', 'public/base', 'other/thing']) {
      await clients.skopeo(
        'copy',
        '--dest-cert-dir',
        certDir,
        '--dest-creds',
        `admin:${users.admin}`,
        `oci:${layout}:v1`,
        `docker://${server.host}/${repository}:v1`,
      );
    }
  });

  after(async () => {
    await server?.stop();
    await clients?.cleanup();
  });

  it("denies alice's push to team/* with 403 while her pull works", async () => {
    const out = await clients.makeDir('alice-pull');
    await clients.skopeo(
      'copy',
      '--src-cert-dir',
      certDir,
      '--src-creds',
      `alice:${users.alice}`,
      `docker://${server.host}/team/app:v1`,
      `dir:${out}`,
    );
    const layout = await clients.makeDir('alice-layout');
    await writeOciLayout(layout, [{ tag: 'v2', content: makeImage({ layers: 1, layerSize: 10_000 }) }]);
    await assert.rejects(
      clients.skopeo(
        'copy',
        '--dest-cert-dir',
        certDir,
        '--dest-creds',
        `alice:${users.alice}`,
        `oci:${layout}:v2`,
        `docker://${server.host}/team/app:v2`,
      ),
      (err: unknown) => err instanceof CommandError && /denied|403/i.test(err.result.stderr),
    );
    const answer = await httpsCall(`${server.url}/v2/team/app/blobs/uploads/`, {
      ca: secrets.certs.ca.cert,
      method: 'POST',
      user: 'alice',
      password: users.alice,
    });
    assert.equal(answer.status, 403);
    assert.equal(errorCode(answer.body), 'DENIED');
    // Elsewhere ("**") alice may create.
    await clients.skopeo(
      'copy',
      '--dest-cert-dir',
      certDir,
      '--dest-creds',
      `alice:${users.alice}`,
      `oci:${layout}:v2`,
      `docker://${server.host}/alice/app:v2`,
    );
  });

  it('the platform group (accessControl.groups) may push to team/* with podman', async () => {
    await clients.buildImage('localhost/platform-app:1', { files: 1, fileSize: 20_000 });
    await clients.podman('login', '--cert-dir', certDir, '-u', 'carol', '-p', users.carol, server.host);
    await clients.podman('push', '--cert-dir', certDir, 'localhost/platform-app:1', `${server.host}/team/platform:1`);
    await clients.podman('logout', server.host);
  });

  it('anonymous callers may pull public/** only; the catalog shows each caller what they may read', async () => {
    // skopeo without credentials: the /v2/ ping is challenged, it goes on anonymously.
    const out = await clients.makeDir('anonymous-pull');
    await clients.skopeo('copy', '--src-cert-dir', certDir, '--src-no-creds', `docker://${server.host}/public/base:v1`, `dir:${out}`);
    await assert.rejects(
      clients.skopeo('copy', '--src-cert-dir', certDir, '--src-no-creds', `docker://${server.host}/team/app:v1`, `dir:${out}-2`),
      (err: unknown) => err instanceof CommandError && /unauthorized|authentication required|401/i.test(err.result.stderr),
    );
    const denied = await httpsCall(`${server.url}/v2/team/app/manifests/v1`, { ca: secrets.certs.ca.cert });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['www-authenticate'], 'Basic realm="zot"');
    const catalog = async (auth: { user?: string; password?: string }) =>
      (
        JSON.parse((await httpsCall(`${server.url}/v2/_catalog`, { ca: secrets.certs.ca.cert, ...auth })).body) as {
          repositories: string[];
        }
      ).repositories;
    // Anonymous callers are asked to log in for the catalog, like for /v2/.
    assert.equal((await httpsCall(`${server.url}/v2/_catalog`, { ca: secrets.certs.ca.cert })).status, 401);
    assert.deepEqual(await catalog({ user: 'carol', password: users.carol }), [
      'alice/app',
      'other/thing',
      'public/base',
      'team/app',
      'team/platform',
    ]);
    // team/* has no defaultPolicy: eve (no grant) does not see it.
    assert.deepEqual(await catalog({ user: 'eve', password: users.eve }), ['alice/app', 'other/thing', 'public/base']);
  });
});
