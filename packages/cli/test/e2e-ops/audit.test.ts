/**
 * The audit log (`log.audit`) of a real `zot-cli serve` with htpasswd auth: a `skopeo copy` push
 * and a `skopeo delete` are recorded with the user name, repository, reference, digest and
 * result, one JSON line each, in a 0600 file apart from the main log; no secret ever lands there.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEST_PLAIN, PLAIN } from '../e2e/clients.js';
import { ClientSandbox, makeImage, runCommand, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
import { giveToServerUser, makeTempDir, serverUser, startServer, type RunningServer } from '../helpers/server.js';

const PASSWORD = 'audit-secret-Pa55';

type AuditLine = Record<string, unknown>;

async function readAudit(file: string): Promise<AuditLine[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditLine);
}

describe('audit log', { skip: skipUnlessPrograms('skopeo', 'htpasswd') }, () => {
  let server: RunningServer;
  let clients: ClientSandbox;
  let auditFile: string;
  let htpasswdFile: string;

  before(async () => {
    const secrets = makeTempDir('zot-ops-audit-');
    htpasswdFile = join(secrets, 'htpasswd');
    await runCommand('htpasswd', ['-bBc', htpasswdFile, 'alice', PASSWORD]);
    await runCommand('htpasswd', ['-bB', htpasswdFile, 'bob', PASSWORD]);
    giveToServerUser(secrets);
    server = await startServer({
      config: (dir) => {
        auditFile = join(dir, 'audit', 'audit.log');
        return { http: { auth: { htpasswd: { path: htpasswdFile } } }, log: { audit: auditFile } };
      },
    });
    clients = await ClientSandbox.create('zot-e2e-audit-');
  });

  after(async () => {
    await server?.stop();
    await clients?.cleanup();
  });

  it('records a push and a delete with the user name, and a refused anonymous push', async () => {
    const image = makeImage({ layers: 1, layerSize: 50_000 });
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    await clients.skopeo(
      'copy',
      DEST_PLAIN,
      '--dest-creds',
      `alice:${PASSWORD}`,
      `oci:${layout}:v1`,
      `docker://${server.host}/ops/audited:v1`,
    );
    await clients.skopeo('delete', PLAIN, '--creds', `bob:${PASSWORD}`, `docker://${server.host}/ops/audited:v1`);
    // An anonymous push (skopeo stops at `GET /v2/` already, so straight to the upload endpoint).
    const refused = await fetch(`${server.url}/v2/ops/anonymous/blobs/uploads/`, { method: 'POST' });
    assert.equal(refused.status, 401);
    // A read is not a change: not audited.
    assert.equal(
      (
        await fetch(`${server.url}/v2/_catalog`, {
          headers: { Authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}` },
        })
      ).status,
      200,
    );

    // Stopping flushes the audit file.
    assert.equal((await server.stop()).code, 0);
    const lines = await readAudit(auditFile);
    assert.ok(lines.length > 0, 'audit lines written');
    for (const line of lines) {
      assert.ok(['POST', 'PUT', 'PATCH', 'DELETE'].includes(String(line['method'])), `only changes are audited: ${JSON.stringify(line)}`);
      assert.equal(typeof line['time'], 'string');
      assert.ok(line['result'] === 'success' || line['result'] === 'failure');
    }

    const push = lines.find((l) => l['operation'] === 'putManifest' && l['result'] === 'success');
    assert.ok(push, JSON.stringify(lines, null, 1));
    assert.equal(push['user'], 'alice');
    assert.equal(push['authMethod'], 'basic');
    assert.equal(push['repository'], 'ops/audited');
    assert.equal(push['reference'], 'v1');
    assert.equal(push['digest'], image.descriptor.digest);
    assert.equal(push['status'], 201);
    const blobs = lines.filter(
      (l) => l['user'] === 'alice' && typeof l['digest'] === 'string' && l['operation'] !== 'putManifest' && l['result'] === 'success',
    );
    assert.ok(
      blobs.some((l) => l['digest'] === image.layers[0]!.descriptor.digest),
      'the layer push is recorded with its digest',
    );

    const deleted = lines.find((l) => l['operation'] === 'deleteManifest');
    assert.ok(deleted, JSON.stringify(lines, null, 1));
    assert.deepEqual(
      [deleted['user'], deleted['repository'], deleted['digest'], deleted['status'], deleted['result']],
      ['bob', 'ops/audited', image.descriptor.digest, 202, 'success'],
    );

    const anonymous = lines.filter((l) => l['repository'] === 'ops/anonymous');
    assert.ok(
      anonymous.length > 0 && anonymous.every((l) => l['user'] === 'anonymous' && l['result'] === 'failure' && l['status'] === 401),
    );

    const text = await readFile(auditFile, 'utf8');
    assert.ok(!text.includes(PASSWORD) && !/authorization/i.test(text), 'no secret in the audit log');
    const info = await stat(auditFile);
    assert.equal(info.mode & 0o777, 0o600);
    const user = serverUser();
    if (user) assert.equal(info.uid, user.uid);
    // The main log is elsewhere (stdout here): the audit file holds audit lines only.
    assert.ok(lines.every((l) => l['msg'] === 'audit'));
    assert.ok(
      server.logRecords().some((r) => r.msg === 'request'),
      'the request log still goes to the main log',
    );
  });
});
