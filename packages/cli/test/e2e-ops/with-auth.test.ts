/**
 * The operations endpoints of a real `zot-cli serve` with htpasswd auth on: probes and docs stay
 * public (wrong credentials do not matter), the OpenAPI document declares basic auth, and
 * metrics need a login of a user listed in `accessControl.metrics.users`, as in zot.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCommand, skipUnlessPrograms } from '../helpers/images.js';
import { giveToServerUser, makeTempDir, startServer, type RunningServer } from '../helpers/server.js';

const PASSWORD = 'ops-auth-Pa55';
const basic = (user: string, password = PASSWORD): Record<string, string> => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('operations endpoints with auth on', { skip: skipUnlessPrograms('htpasswd') }, () => {
  let server: RunningServer;

  before(async () => {
    const secrets = makeTempDir('zot-ops-auth-');
    const htpasswd = join(secrets, 'htpasswd');
    await runCommand('htpasswd', ['-bBc', htpasswd, 'alice', PASSWORD]);
    await runCommand('htpasswd', ['-bB', htpasswd, 'prometheus', PASSWORD]);
    giveToServerUser(secrets);
    server = await startServer({
      config: {
        http: {
          realm: 'ops-test',
          auth: { htpasswd: { path: htpasswd } },
          accessControl: {
            repositories: { '**': { policies: [{ users: ['alice'], actions: ['read', 'create', 'update', 'delete'] }] } },
            metrics: { users: ['prometheus'] },
          },
        },
        extensions: { metrics: { enable: true } },
      },
    });
  });

  after(async () => {
    await server?.stop();
  });

  it('keeps probes and docs public, even with wrong credentials', async () => {
    for (const path of ['/livez', '/readyz', '/startupz', '/openapi.json', '/openapi.yaml', '/swagger/']) {
      assert.equal((await fetch(`${server.url}${path}`)).status, 200, path);
      assert.equal(
        (await fetch(`${server.url}${path}`, { headers: basic('alice', 'wrong') })).status,
        200,
        `${path} with a wrong password`,
      );
    }
    assert.equal((await fetch(`${server.url}/v2/_catalog`, { headers: basic('alice', 'wrong') })).status, 401);
  });

  it('documents basic auth on the registry routes and none on the public ones', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      components: { securitySchemes?: Record<string, { type: string; scheme: string }> };
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
    };
    assert.deepEqual(doc.components.securitySchemes?.['basicAuth']?.scheme, 'basic');
    assert.deepEqual(doc.paths['/readyz']!['get']!.security, []);
    assert.deepEqual(doc.paths['/v2/{name}/manifests/{reference}']!['put']!.security, [{ basicAuth: [] }, {}]);
    assert.ok(doc.paths['/v2/{name}/manifests/{reference}']!['put']!.responses['401']);
  });

  it('lets only a listed, logged-in user scrape metrics', async () => {
    const anonymous = await fetch(`${server.url}/metrics`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="ops-test"');
    assert.equal((await fetch(`${server.url}/metrics`, { headers: basic('alice') })).status, 403);
    assert.equal((await fetch(`${server.url}/metrics`, { headers: basic('prometheus', 'wrong') })).status, 401);
    const scrape = await fetch(`${server.url}/metrics`, { headers: basic('prometheus') });
    assert.equal(scrape.status, 200);
    const text = await scrape.text();
    // The refused scrapes were counted like any request, by template.
    assert.match(text, /zot_http_requests_total\{method="GET",route="\/metrics",status="403"\} 1/);
    assert.match(text, /zot_http_requests_total\{method="GET",route="\/metrics",status="401"\} 2/);
  });
});
