/**
 * The built-in token service end to end through `zot-cli serve` (http.auth.tokenService +
 * http.auth.bearer): stock dockerd, podman and skopeo log in, push and pull through it with
 * htpasswd, LDAP (real slapd) and API-key credentials, and anonymously; a scope the policy does
 * not grant gives each client its usual "denied" error; a retried identical push succeeds for a
 * user who may only create.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { htpasswdSet, slapdAvailable, startSlapd, type SlapdServer } from '@zotjs/auth/testing';
import { dockerdAvailable, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { ClientSandbox, CommandError, makeImage, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
import { giveToServerUser, makeTempDir, startServer, type RunningServer } from '../helpers/server.js';
import { readDirCopy } from '../e2e/clients.js';

const skip = skipUnlessPrograms('skopeo', 'podman', 'buildah', 'htpasswd', 'openssl') || (slapdAvailable() ? false : 'needs slapd');
const PLAIN = '--tls-verify=false';

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<string> {
  try {
    await promise;
  } catch (err) {
    const text = err instanceof CommandError ? err.message : String(err);
    assert.match(text, pattern);
    return text;
  }
  assert.fail(`expected a failure matching ${pattern}`);
}

describe('built-in token service through zot-cli serve (docker, podman, skopeo)', { skip }, () => {
  let server: RunningServer;
  let slapd: SlapdServer;
  let clients: ClientSandbox;
  let layout: string;
  let other: string;
  const image = makeImage({ layers: 2, layerSize: 50_000 });
  const otherImage = makeImage({ layers: 1, layerSize: 20_000 });

  before(async () => {
    const secrets = makeTempDir('zot-token-secrets-');
    mkdirSync(join(secrets, 'keys'));
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(secrets, 'keys', 'signing.pem')]);
    const htpasswd = join(secrets, 'htpasswd');
    writeFileSync(htpasswd, '');
    await htpasswdSet(htpasswd, 'alice', 'alice-Secret-1');
    await htpasswdSet(htpasswd, 'bob', 'bob-Secret-2');
    await htpasswdSet(htpasswd, 'ci', 'ci-Secret-3');
    giveToServerUser(secrets);
    slapd = await startSlapd({
      dir: join(makeTempDir('zot-token-slapd-'), 'slapd'),
      users: [{ uid: 'carol', password: 'carol-Secret-4' }],
      groups: [{ cn: 'builders', members: ['carol'] }],
    });
    server = await startServer({
      config: {
        http: {
          auth: {
            htpasswd: { path: htpasswd },
            ldap: {
              address: '127.0.0.1',
              port: slapd.port,
              insecure: true,
              baseDN: slapd.peopleDN,
              bindDN: slapd.bindDN,
              bindPassword: slapd.bindPassword,
              userGroupAttribute: 'memberOf',
            },
            bearer: { service: 'zot-ts-test' },
            tokenService: { signingKeys: join(secrets, 'keys') },
            apikey: true,
          },
          accessControl: {
            repositories: {
              'team/**': {
                policies: [
                  { users: ['alice'], actions: ['read', 'create', 'update', 'delete'] },
                  { users: ['bob'], actions: ['read'] },
                  { users: ['ci'], actions: ['read', 'create'] },
                ],
              },
              'ldap/**': { policies: [{ groups: ['builders'], actions: ['read', 'create'] }] },
              'public/**': { policies: [{ users: ['alice'], actions: ['read', 'create'] }], anonymousPolicy: ['read'] },
            },
          },
        },
      },
    });
    clients = await ClientSandbox.create();
    layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    other = await clients.makeDir('other');
    await writeOciLayout(other, [{ tag: 'v1', content: otherImage }]);
  });

  after(async () => {
    await server?.stop();
    await slapd?.stop();
    await clients?.cleanup();
  });

  it('without a token: 401 with a Bearer challenge naming the realm, the service and the scope', async () => {
    const answer = await fetch(`${server.url}/v2/team/app/manifests/v1`);
    assert.equal(answer.status, 401);
    assert.equal(
      answer.headers.get('www-authenticate'),
      `Bearer realm="${server.url}/zot/auth/token",service="zot-ts-test",scope="repository:team/app:pull"`,
    );
  });

  it('the OpenAPI document lists the token and API-key endpoints', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    assert.ok(doc.paths['/zot/auth/token']?.get && doc.paths['/zot/auth/token']?.post);
    assert.ok(doc.paths['/zot/auth/apikey']?.post && doc.paths['/zot/auth/apikey']?.delete);
  });

  it('skopeo pushes and pulls with htpasswd credentials; a read-only user is denied the push', async () => {
    await clients.skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      'alice:alice-Secret-1',
      `oci:${layout}:v1`,
      `docker://${server.host}/team/app:v1`,
    );
    const out = await clients.makeDir('pulled');
    await clients.skopeo(
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      'bob:bob-Secret-2',
      `docker://${server.host}/team/app:v1`,
      `dir:${out}`,
    );
    assert.equal((await readDirCopy(out)).manifestDigest, image.descriptor.digest);
    await rejects(
      clients.skopeo(
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        'bob:bob-Secret-2',
        `oci:${other}:v1`,
        `docker://${server.host}/team/app:v2`,
      ),
      /denied/i,
    );
  });

  it('a retried identical push succeeds for a create-only user; moving the tag is denied', async () => {
    const push = (source: string) =>
      clients.skopeo(
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        'ci:ci-Secret-3',
        `oci:${source}:v1`,
        `docker://${server.host}/team/ci:v1`,
      );
    await push(layout);
    await push(layout); // skopeo retrying the same copy: nothing changes, no error
    await rejects(push(other), /denied/i);
    const answer = await clients.skopeo('inspect', PLAIN, '--creds', 'ci:ci-Secret-3', '--raw', `docker://${server.host}/team/ci:v1`);
    assert.equal(JSON.parse(answer.stdout).layers.length, 2, 'the tag still names the first image');
  });

  it('an LDAP user gets a token with the grants of their LDAP group', async () => {
    await clients.skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      'carol:carol-Secret-4',
      `oci:${layout}:v1`,
      `docker://${server.host}/ldap/app:v1`,
    );
    await rejects(
      clients.skopeo(
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        'carol:carol-Secret-4',
        `oci:${layout}:v1`,
        `docker://${server.host}/team/carol:v1`,
      ),
      // skopeo first checks whether the blobs are there (HEAD, no body): its 403 is reported as Forbidden.
      /denied|403 \(Forbidden\)/i,
    );
    await rejects(
      clients.skopeo('inspect', PLAIN, '--creds', 'carol:wrong-password', `docker://${server.host}/ldap/app:v1`),
      /unauthorized|invalid username\/password|401/i,
    );
  });

  it('an API key logs in as its owner at the token service; once revoked it fails at once', async () => {
    const basic = `Basic ${Buffer.from('alice:alice-Secret-1').toString('base64')}`;
    const created = await fetch(`${server.url}/zot/auth/apikey`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'ci' }),
    });
    assert.equal(created.status, 201);
    const { apiKey, uuid } = (await created.json()) as { apiKey: string; uuid: string };
    await clients.skopeo('inspect', PLAIN, '--creds', `alice:${apiKey}`, `docker://${server.host}/team/app:v1`);
    const revoked = await fetch(`${server.url}/zot/auth/apikey?id=${uuid}`, { method: 'DELETE', headers: { authorization: basic } });
    assert.equal(revoked.status, 200);
    await rejects(
      clients.skopeo('inspect', PLAIN, '--creds', `alice:${apiKey}`, `docker://${server.host}/team/app:v1`),
      /unauthorized|401/i,
    );
    assert.ok(!server.logs().includes(apiKey), 'the key never reaches the log');
  });

  it('anonymous callers get a token with what anonymousPolicy allows', async () => {
    await clients.skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      'alice:alice-Secret-1',
      `oci:${layout}:v1`,
      `docker://${server.host}/public/app:v1`,
    );
    const inspected = await clients.skopeo('inspect', PLAIN, '--no-creds', `docker://${server.host}/public/app:v1`);
    assert.equal(JSON.parse(inspected.stdout).Digest, image.descriptor.digest);
    await rejects(clients.skopeo('inspect', PLAIN, '--no-creds', `docker://${server.host}/team/app:v1`), /unauthorized|denied|401/i);
  });

  it('podman logs in, pushes and pulls through the token service; a denied push says denied', async () => {
    await clients.podman('login', PLAIN, '-u', 'alice', '-p', 'alice-Secret-1', server.host);
    await clients.podman('pull', PLAIN, `${server.host}/team/app:v1`);
    await clients.podman('tag', `${server.host}/team/app:v1`, `${server.host}/team/podman:v1`);
    await clients.podman('push', PLAIN, `${server.host}/team/podman:v1`);
    await clients.podman('logout', server.host);
    await clients.podman('login', PLAIN, '-u', 'bob', '-p', 'bob-Secret-2', server.host);
    await rejects(clients.podman('push', PLAIN, `${server.host}/team/podman:v1`, `${server.host}/team/podman:bob`), /denied/i);
    await rejects(
      clients.podman('login', PLAIN, '-u', 'bob', '-p', 'wrong-password', server.host),
      /unauthorized|invalid username\/password|401/i,
    );
  });

  describe('stock docker', { skip: dockerdAvailable() }, () => {
    let dockerd: Dockerd;
    before(async () => {
      dockerd = await startDockerd();
      const archive = join(await clients.makeDir('archive'), 'image.tar');
      await clients.skopeo('copy', `oci:${layout}:v1`, `docker-archive:${archive}:local/app:v1`);
      await dockerd.docker('load', '-i', archive);
    });
    after(async () => {
      await dockerd?.stop();
    });

    it('docker login (OAuth2 POST with a refresh token), push and pull; a denied push says denied', async () => {
      await dockerd.docker('login', '-u', 'alice', '-p', 'alice-Secret-1', server.host);
      await dockerd.docker('tag', 'local/app:v1', `${server.host}/team/docker:v1`);
      await dockerd.docker('push', `${server.host}/team/docker:v1`);
      await dockerd.docker('rmi', `${server.host}/team/docker:v1`);
      await dockerd.docker('pull', `${server.host}/team/docker:v1`);
      await dockerd.docker('logout', server.host);
      await dockerd.docker('login', '-u', 'bob', '-p', 'bob-Secret-2', server.host);
      await dockerd.docker('tag', 'local/app:v1', `${server.host}/team/docker:bob`);
      // docker 20.10 reports a refused manifest push (403 with error="insufficient_scope") as a bare "denied".
      await rejects(dockerd.docker('push', `${server.host}/team/docker:bob`), /^denied/m);
      await rejects(dockerd.docker('login', '-u', 'bob', '-p', 'wrong-password', server.host), /unauthorized|401/i);
      const logs = server.logs();
      for (const secret of ['alice-Secret-1', 'bob-Secret-2', 'wrong-password'])
        assert.ok(!logs.includes(secret), `${secret} is not logged`);
    });
  });
});
