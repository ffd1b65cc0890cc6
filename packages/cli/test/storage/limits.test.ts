/**
 * `http.limits` and the storage keys as an operator writes them: upload sessions per client,
 * session expiry, manifest size; `zot-cli verify` checks the new keys (retention, limits, scrub).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir, startServer } from '../helpers/server.js';
import { OCI_MANIFEST, runCli, sleep } from './support.js';

describe('limits and config keys', () => {
  it('caps open upload sessions per client (429), expires idle ones, refuses manifests over the size limit (413)', async () => {
    const server = await startServer({
      config: { http: { limits: { maxUploadSessionsPerClient: 3, uploadSessionExpiry: '1500ms', maxManifestSize: 8192 } } },
    });
    try {
      const open: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${server.url}/v2/limits/repo/blobs/uploads/`, { method: 'POST' });
        assert.equal(res.status, 202);
        open.push(res.headers.get('location')!);
      }
      const refused = await fetch(`${server.url}/v2/limits/repo/blobs/uploads/`, { method: 'POST' });
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'TOOMANYREQUESTS');
      assert.equal((await fetch(new URL(open[0]!, server.url), { method: 'DELETE' })).status, 204);
      assert.equal(
        (await fetch(`${server.url}/v2/limits/repo/blobs/uploads/`, { method: 'POST' })).status,
        202,
        'a cancelled session frees its place',
      );

      await sleep(1700);
      assert.equal((await fetch(new URL(open[1]!, server.url))).status, 404, 'an idle session expired');
      assert.equal(
        (await fetch(`${server.url}/v2/limits/repo/blobs/uploads/`, { method: 'POST' })).status,
        202,
        'expired sessions stop counting',
      );

      const big = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [], annotations: { pad: 'x'.repeat(9000) } }),
      );
      const res = await fetch(`${server.url}/v2/limits/repo/manifests/v1`, {
        method: 'PUT',
        headers: { 'content-type': OCI_MANIFEST },
        body: big,
      });
      assert.equal(res.status, 413);
    } finally {
      await server.stop();
    }
  });

  it('zot-cli verify accepts retention, limits and scrub, and names a bad key or pattern by its path', async () => {
    const dir = makeTempDir('zot-limits-');
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({
        storage: {
          rootDirectory: join(dir, 'data'),
          dedupe: true,
          verifyBlobReads: true,
          gc: true,
          gcDelay: '1h',
          gcInterval: '24h',
          retention: {
            dryRun: false,
            delay: '24h',
            policies: [
              { repositories: ['infra/*', 'tmp/**'], deleteReferrers: true, deleteUntagged: true, keepTags: [{ patterns: ['^v\\d+'] }] },
            ],
          },
        },
        http: {
          address: '127.0.0.1',
          port: 5000,
          limits: {
            maxManifestSize: 1048576,
            maxUploadSessionsPerClient: 50,
            uploadSessionExpiry: '30m',
            headersTimeout: '30s',
            requestTimeout: '0',
            idleTimeout: '2m',
          },
        },
        extensions: { scrub: { enable: true, interval: '24h' } },
      }),
    );
    const ok = await runCli(['verify', good]);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        storage: { rootDirectory: dir, retention: { policies: [{ repositories: ['**'], keepTags: [{ patterns: ['(unclosed'] }] }] } },
        http: { limits: { maxUploadSessions: 5, idleTimeout: 'soon' } },
      }),
    );
    const refused = await runCli(['verify', bad]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /storage\.retention\.policies\[0\]\.keepTags\[0\]\.patterns\[0\]: not a valid regular expression/);
    assert.match(refused.stderr, /http\.limits\.maxUploadSessions: unknown key/);
    assert.match(refused.stderr, /http\.limits\.idleTimeout: expected a duration/);
  });
});
