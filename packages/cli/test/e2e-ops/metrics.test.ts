/**
 * Prometheus metrics of a real `zot-cli serve` moving under a real client: `skopeo copy` of a
 * hand-made OCI layout in, and back out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEST_PLAIN, SRC_PLAIN } from '../e2e/clients.js';
import { allBlobs, ClientSandbox, makeImage, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { eventually, scrape } from './support.js';

const MANIFEST_PUT = 'zot_http_requests_total{method="PUT",route="/v2/{name}/manifests/{reference}",status="201"}';
const UPLOAD_DONE = 'zot_http_requests_total{method="PUT",route="/v2/{name}/blobs/uploads/{uploadId}",status="201"}';
const BLOB_GET = 'zot_http_requests_total{method="GET",route="/v2/{name}/blobs/{digest}",status="200"}';

describe('metrics after skopeo copy', { skip: skipUnlessPrograms('skopeo') }, () => {
  let server: RunningServer;
  let clients: ClientSandbox;

  before(async () => {
    server = await startServer({ config: { extensions: { metrics: { enable: true, prometheus: { path: '/metrics' } } } } });
    clients = await ClientSandbox.create('zot-e2e-metrics-');
  });

  after(async () => {
    await server?.stop();
    await clients?.cleanup();
  });

  it('counts the push and the pull by route template, with bytes, repositories and storage', async () => {
    const before = await scrape(`${server.url}/metrics`);
    assert.equal(before.samples.get(MANIFEST_PUT) ?? 0, 0);
    assert.equal(before.samples.get('zot_repositories'), 0);

    const image = makeImage({ layers: 2, layerSize: 300_000 });
    const blobBytes = allBlobs(image).reduce((sum, blob) => sum + blob.data.length, 0);
    const layout = await clients.makeDir('layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    await clients.skopeo('copy', DEST_PLAIN, `oci:${layout}:v1`, `docker://${server.host}/ops/metrics:v1`);

    // Repository count and storage bytes follow the push (measured in the background, not per scrape).
    const pushed = await eventually('the storage gauges to catch up', async () => {
      const now = await scrape(`${server.url}/metrics`);
      return (now.samples.get('zot_repositories') ?? 0) === 1 && (now.samples.get('zot_storage_bytes') ?? 0) >= blobBytes ? now : false;
    });
    const m = pushed.samples;
    assert.equal(m.get(MANIFEST_PUT), 1, 'one manifest pushed');
    // Blobs go in through upload sessions or single-request uploads, depending on the client's choice.
    const blobPushes =
      (m.get(UPLOAD_DONE) ?? 0) + (m.get('zot_http_requests_total{method="POST",route="/v2/{name}/blobs/uploads/",status="201"}') ?? 0);
    assert.equal(blobPushes, image.layers.length + 1, 'config and layers pushed');
    assert.ok((m.get('zot_uploaded_bytes_total') ?? 0) >= blobBytes, `uploaded ${m.get('zot_uploaded_bytes_total')} < ${blobBytes}`);
    assert.equal(m.get('zot_upload_sessions_in_progress'), 0);
    assert.ok(
      (m.get(`zot_http_request_duration_seconds_count{method="PUT",route="/v2/{name}/manifests/{reference}",status="201"}`) ?? 0) >= 1,
    );
    // The repository name never becomes a label: labels carry route templates only.
    assert.ok(!pushed.text.includes('ops/metrics'), 'a raw path leaked into the metrics');
    assert.ok(pushed.text.includes('process_resident_memory_bytes'), 'process metrics');

    const out = await clients.makeDir('pulled');
    await clients.skopeo('copy', SRC_PLAIN, `docker://${server.host}/ops/metrics:v1`, `dir:${out}`);
    const pulled = (await scrape(`${server.url}/metrics`)).samples;
    assert.ok((pulled.get(BLOB_GET) ?? 0) >= image.layers.length + 1, 'blob pulls counted');
    assert.ok(
      (pulled.get('zot_downloaded_bytes_total') ?? 0) >= blobBytes,
      `downloaded ${pulled.get('zot_downloaded_bytes_total')} < ${blobBytes}`,
    );
    assert.ok((pulled.get('zot_http_requests_total{method="GET",route="/metrics",status="200"}') ?? 0) >= 2, 'scrapes are counted too');
  });
});

describe('metrics configuration', () => {
  it('extensions.metrics.prometheus.path moves the endpoint; without extensions.metrics there is none', async (t) => {
    const custom = await startServer({ config: { extensions: { metrics: { prometheus: { path: '/internal/prometheus' } } } } });
    t.after(() => custom.stop());
    const res = await fetch(`${custom.url}/internal/prometheus`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await res.text(), /zot_http_requests_total/);
    assert.equal((await fetch(`${custom.url}/metrics`)).status, 404);

    const off = await startServer({ config: { extensions: { metrics: { enable: false } } } });
    t.after(() => off.stop());
    assert.equal((await fetch(`${off.url}/metrics`)).status, 404);
    const doc = (await (await fetch(`${off.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(!('/metrics' in doc.paths), 'a route that is off is not documented');
  });
});
