import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import type { Authenticator } from '@zotjs/core';
import { createExtensions } from '../src/index.js';
import { harness, pushImage, send } from './support/registry.js';

const authenticator: Authenticator = {
  async authenticate(request) {
    const user = request.headers['x-test-user'];
    return user ? { kind: 'authenticated', identity: { username: user, groups: [], method: 'basic' } } : { kind: 'anonymous' };
  },
  challenge: () => 'Basic realm="zot"',
};

async function readLines(file: string): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.endsWith('\n') || Date.now() > deadline)
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('audit log', () => {
  it('writes one JSON line per mutating request: who, what, repository, digest, result', async () => {
    const h = await harness();
    const file = join(h.root, '..', `${h.root.split('/').pop()}-audit`, 'audit.log');
    const ext = createExtensions({ storage: h.storage, version: '1', auditFile: file });
    const api = await harness({ root: h.root, extraRoutes: ext.routes, authenticator });
    try {
      const image = await pushImage(api.handler, 'library/app', 'v1');
      for (const r of image.records) {
        ext.observe({ ...r, outcome: { ...r.outcome, identity: { username: 'alice', groups: [], method: 'basic' } } });
      }
      // Reads are not audited.
      ext.observe((await send(api.handler, 'GET', '/v2/library/app/manifests/v1')).record);
      const del = await send(api.handler, 'DELETE', `/v2/library/app/manifests/${image.manifestDigest}`, {
        headers: { 'x-test-user': 'bob' },
      });
      assert.equal(del.status, 202);
      ext.observe(del.record);
      const failed = await send(api.handler, 'DELETE', '/v2/library/app/manifests/v1', { headers: { 'x-test-user': 'bob' } });
      assert.equal(failed.status, 404);
      ext.observe(failed.record);
      const anonymous = await send(api.handler, 'POST', '/v2/library/other/blobs/uploads/');
      ext.observe(anonymous.record);
      ext.close();

      const lines = await readLines(file);
      assert.equal(lines.length, image.records.length + 3);
      assert.ok(lines.every((l) => typeof l['time'] === 'string' && l['msg'] === 'audit' && l['level'] === 'info'));
      const push = lines.find((l) => l['operation'] === 'putManifest')!;
      assert.deepEqual(
        { ...push, time: undefined },
        {
          time: undefined,
          level: 'info',
          msg: 'audit',
          user: 'alice',
          authMethod: 'basic',
          remoteAddress: '127.0.0.1',
          method: 'PUT',
          operation: 'putManifest',
          route: '/v2/{name}/manifests/{reference}',
          repository: 'library/app',
          reference: 'v1',
          digest: image.manifestDigest,
          status: 201,
          result: 'success',
        },
      );
      const layer = lines.find((l) => l['operation'] === 'completeUpload')!;
      assert.equal(layer['digest'], image.layerDigest);
      const deleted = lines.find((l) => l['operation'] === 'deleteManifest' && l['status'] === 202)!;
      assert.deepEqual(
        [deleted['user'], deleted['reference'], deleted['digest'], deleted['result']],
        ['bob', image.manifestDigest, image.manifestDigest, 'success'],
      );
      const refused = lines.find((l) => l['operation'] === 'deleteManifest' && l['status'] === 404)!;
      assert.deepEqual([refused['user'], refused['reference'], refused['result']], ['bob', 'v1', 'failure']);
      assert.equal(lines.at(-1)!['user'], 'anonymous');
      assert.equal((await stat(file)).mode & 0o777, 0o600);
    } finally {
      ext.close();
      await h.cleanup();
      await rm(dirname(file), { recursive: true, force: true });
    }
  });
});
