// Every route of the table answers its documented success status through the handler, so a route
// added to registryRoutes without a scenario here fails this test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MediaTypes, registryRoutes, templatePattern } from '../src/index.js';
import { digestOf, testRegistry, type Client, type Reply } from './support/http.js';

type Scenario = (client: Client) => Promise<Reply>;

async function session(client: Client, repository = 'routes/repo'): Promise<string> {
  return (await client.send('POST', `/v2/${repository}/blobs/uploads/`)).headers['location']!;
}

const SCENARIOS: Record<string, { status: number; run: Scenario }> = {
  checkVersion: { status: 200, run: (c) => c.get('/v2/') },
  listRepositories: { status: 200, run: (c) => c.get('/v2/_catalog?n=10') },
  getBlob: { status: 200, run: async (c) => c.get(`/v2/routes/repo/blobs/${await c.pushBlob('routes/repo', 'blob')}`) },
  headBlob: { status: 200, run: async (c) => c.head(`/v2/routes/repo/blobs/${await c.pushBlob('routes/repo', 'blob')}`) },
  deleteBlob: { status: 202, run: async (c) => c.send('DELETE', `/v2/routes/repo/blobs/${await c.pushBlob('routes/repo', 'blob')}`) },
  getManifest: { status: 200, run: async (c) => c.get(`/v2/routes/repo/manifests/${(await c.pushImage('routes/repo', 'v1')).digest}`) },
  headManifest: { status: 200, run: async (c) => (await c.pushImage('routes/repo', 'v1'), c.head('/v2/routes/repo/manifests/v1')) },
  putManifest: {
    status: 201,
    run: async (c) => {
      const image = await c.pushImage('routes/repo', 'v1');
      return c.send('PUT', '/v2/routes/repo/manifests/v2', { body: image.manifest, headers: { 'content-type': MediaTypes.ociManifest } });
    },
  },
  deleteManifest: {
    status: 202,
    run: async (c) => (await c.pushImage('routes/repo', 'v1'), c.send('DELETE', '/v2/routes/repo/manifests/v1')),
  },
  startUpload: { status: 202, run: (c) => c.send('POST', '/v2/routes/repo/blobs/uploads/') },
  getUploadStatus: { status: 204, run: async (c) => c.get(await session(c)) },
  uploadChunk: { status: 202, run: async (c) => c.send('PATCH', await session(c), { body: 'chunk', headers: { 'content-range': '0-4' } }) },
  completeUpload: { status: 201, run: async (c) => c.send('PUT', `${await session(c)}?digest=${digestOf('final')}`, { body: 'final' }) },
  cancelUpload: { status: 204, run: async (c) => c.send('DELETE', await session(c)) },
  listTags: { status: 200, run: async (c) => (await c.pushImage('routes/repo', 'v1'), c.get('/v2/routes/repo/tags/list?n=1')) },
  listReferrers: { status: 200, run: async (c) => c.get(`/v2/routes/repo/referrers/${(await c.pushImage('routes/repo', 'v1')).digest}`) },
};

describe('HTTP: every route of registryRoutes', () => {
  it('has a scenario for each route, and no scenario without a route', () => {
    assert.deepEqual(Object.keys(SCENARIOS).sort(), registryRoutes.map((r) => r.operationId).sort());
  });

  for (const route of registryRoutes) {
    it(`${route.method} ${route.template} (${route.operationId}) answers its documented success`, async () => {
      const scenario = SCENARIOS[route.operationId];
      assert.ok(scenario, `no scenario for ${route.operationId}`);
      const { client } = testRegistry();
      const reply = await scenario.run(client);
      assert.equal(reply.status, scenario.status, reply.body.toString());
      assert.ok(route.responses[reply.status], `status ${reply.status} is documented for ${route.operationId}`);
      assert.equal(reply.outcome.operationId, route.operationId);
      assert.equal(reply.outcome.route, route.template);
      assert.equal(reply.headers['docker-distribution-api-version'], 'registry/2.0');
      if (route.method === 'HEAD') assert.equal(reply.hasBody, false);
    });
  }

  it('templates match nested repository names and keep references raw', () => {
    const manifests = templatePattern('/v2/{name}/manifests/{reference}');
    const match = manifests.exec('/v2/a/b/c/manifests/sha256%3Aabc');
    assert.equal(match?.groups?.['name'], 'a/b/c');
    assert.equal(match?.groups?.['reference'], 'sha256%3Aabc');
    assert.equal(manifests.exec('/v2/a/../b/manifests/x'), null);
    assert.equal(manifests.exec('/v2/A/manifests/x'), null);
    assert.equal(templatePattern('/v2/{name}/blobs/{digest}').exec('/v2/repo/blobs/uploads/'), null);
  });
});
