/**
 * Health probes of a real `zot-cli serve` running as an unprivileged user: `/readyz` turns
 * unhealthy when the storage folder becomes unwritable and healthy again when it is fixed, while
 * `/livez` and `/startupz` stay up.
 */
import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { serverUser, startServer } from '../helpers/server.js';
import { eventually } from './support.js';

// Root writes anywhere: the check needs the registry to run as someone else (the helper does that as root).
const runsUnprivileged = typeof process.getuid !== 'function' || process.getuid() !== 0 || serverUser() !== undefined;

describe('health probes', () => {
  it('answer without credentials, and are routes of the table', async (t) => {
    const server = await startServer();
    t.after(() => server.stop());
    for (const path of ['/livez', '/readyz', '/startupz']) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(((await res.json()) as { status: string }).status, 'ok');
    }
    // Probes are routes of the table: logged with their template, documented in the OpenAPI document.
    assert.ok(server.logRecords().some((r) => r.msg === 'request' && r.route === '/readyz' && r.operation === 'readyz'));
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, { get?: { security?: unknown } }> };
    assert.ok(doc.paths['/livez']?.get && doc.paths['/readyz']?.get && doc.paths['/startupz']?.get);
  });

  it('/readyz flips to 503 when the storage folder becomes unwritable, and back', {
    skip: runsUnprivileged ? false : 'needs an unprivileged registry user',
  }, async (t) => {
    const server = await startServer();
    t.after(async () => {
      await chmod(server.rootDirectory, 0o700).catch(() => undefined);
      await server.stop();
    });
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);

    await chmod(server.rootDirectory, 0o500);
    const body = await eventually('/readyz to report the storage', async () => {
      const res = await fetch(`${server.url}/readyz`);
      return res.status === 503
        ? ((await res.json()) as { errors: Array<{ code: string; detail: { checks: Record<string, string> } }> })
        : false;
    });
    assert.equal(body.errors[0]!.code, 'UNAVAILABLE');
    assert.deepEqual(body.errors[0]!.detail.checks, { storage: 'EACCES' });
    // Not ready is not dead: a restart would not help, so liveness stays up.
    assert.equal((await fetch(`${server.url}/livez`)).status, 200);
    assert.equal((await fetch(`${server.url}/startupz`)).status, 200);
    assert.ok(
      server.logRecords().some((r) => r.msg === 'storage is not ready' && r.storage === 'EACCES'),
      server.logs(),
    );

    await chmod(server.rootDirectory, 0o700);
    await eventually('/readyz to recover', async () => (await fetch(`${server.url}/readyz`)).status === 200);
  });
});
