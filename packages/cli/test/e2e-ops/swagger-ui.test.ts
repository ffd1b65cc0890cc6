/**
 * Swagger UI in a real browser: Debian's headless Chromium driven by playwright-core loads
 * `/swagger/` from a real `zot-cli serve`, lists the operations of the OpenAPI document, and
 * "Try it out" on `GET /v2/_catalog` returns the live repository list. Every request the page
 * makes goes to the registry itself (the UI works offline). Screenshots go to test-output/e2e-ops.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { skipUnlessPrograms } from '../helpers/images.js';
import { cliPath, makeTempDir, serverUser, startServer, type RunningServer } from '../helpers/server.js';
import { pushSmallImage, testOutputDir } from './support.js';

const CHROMIUM = '/usr/bin/chromium';

interface OpenApiDoc {
  paths: Record<string, Record<string, { operationId: string; tags: string[] }>>;
}

describe('Swagger UI in headless Chromium', { skip: skipUnlessPrograms('chromium') }, () => {
  let server: RunningServer;
  let browser: BrowserContext;
  let profile: string;
  const requested: string[] = [];

  before(async () => {
    server = await startServer({ config: { extensions: { metrics: { enable: true } } } });
    await pushSmallImage(server.url, 'ops/alpha', 'v1');
    await pushSmallImage(server.url, 'ops/beta', 'v1');
    // A fresh profile every run: nothing cached, nothing remembered.
    profile = await mkdtemp(join(tmpdir(), 'zot-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 900 },
    });
    browser.on('request', (request) => requested.push(request.url()));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  async function openUi(path: string): Promise<Page> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const response = await page.goto(`${server.url}${path}`);
    assert.equal(response?.status(), 200);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    assert.deepEqual(errors, [], 'no script errors on the page');
    return page;
  }

  it('lists every operation of the document, and "Try it out" on GET /v2/_catalog returns the live list', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDoc;
    const expected = Object.values(doc.paths).flatMap((item) =>
      Object.values(item).map((op) => `operations-${op.tags[0]}-${op.operationId}`),
    );
    assert.ok(expected.length >= 25, `only ${expected.length} operations documented`);

    const page = await openUi('/swagger/');
    assert.match(await page.locator('.info .title').innerText(), /zot-ts OCI registry/);
    const shown = await page.$$eval('.opblock[id^="operations-"]', (els) => els.map((el) => el.id));
    assert.deepEqual([...shown].sort(), [...expected].sort());
    for (const id of [
      'operations-distribution-listRepositories',
      'operations-distribution-putManifest',
      'operations-health-readyz',
      'operations-metrics-getMetrics',
    ]) {
      assert.ok(shown.includes(id), `${id} not shown`);
    }

    const catalog = page.locator('#operations-distribution-listRepositories');
    await catalog.locator('.opblock-summary').click();
    await catalog.getByRole('button', { name: 'Try it out' }).click();
    await catalog.getByRole('button', { name: 'Execute' }).click();
    const live = catalog.locator('.live-responses-table');
    await live.locator('.response .response-col_status').first().waitFor({ timeout: 15_000 });
    assert.equal((await live.locator('.response .response-col_status').first().innerText()).trim(), '200');
    const shownBody = JSON.parse(await live.locator('.response-col_description pre').first().innerText()) as unknown;
    const actual = (await (await fetch(`${server.url}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.deepEqual(shownBody, actual);
    assert.ok(actual.repositories.includes('ops/alpha') && actual.repositories.includes('ops/beta'));
    await page.screenshot({ path: join(testOutputDir(), 'swagger-ui.png'), fullPage: true });
    await page.close();

    // The request really went to the registry, through the route table.
    const served = server.logRecords().filter((r) => r.msg === 'request' && r.operation === 'listRepositories');
    assert.ok(served.length >= 1, 'the catalog request reached the registry');
  });

  it('also renders at /swagger/v2/, where zot serves it', async () => {
    const page = await openUi('/swagger/v2/');
    assert.ok((await page.locator('#operations-distribution-getManifest').count()) === 1);
    await page.screenshot({ path: join(testOutputDir(), 'swagger-ui-v2.png') });
    await page.close();
  });

  it('loaded nothing from another host', () => {
    assert.ok(requested.length > 5, 'requests were recorded');
    const origin = new URL(server.url).origin;
    const foreign = requested.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin);
    assert.deepEqual(foreign, []);
  });
});

describe('Swagger UI configuration', () => {
  it('http.swagger: false turns the document and the UI off', async (t) => {
    const server = await startServer({ config: { http: { swagger: false } } });
    t.after(() => server.stop());
    for (const path of ['/swagger/', '/swagger/v2/', '/openapi.json', '/openapi.yaml']) {
      assert.equal((await fetch(`${server.url}${path}`)).status, 404, path);
    }
    assert.equal((await fetch(`${server.url}/livez`)).status, 200);
  });

  it('zot-cli serve with the embedded default serves the UI and the document', async (t) => {
    if (!(await portIsFree(5000))) {
      t.skip('port 5000 is in use on this machine');
      return;
    }
    const cwd = makeTempDir('zot-ops-default-');
    const user = serverUser();
    const child = spawn(process.execPath, [cliPath, 'serve'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    t.after(() => child.kill('SIGKILL'));
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await fetch('http://127.0.0.1:5000/swagger/').catch(() => undefined);
      if (res) {
        assert.equal(res.status, 200);
        assert.match(await res.text(), /swagger-ui-bundle\.js/);
        break;
      }
      if (exited && /already in use/.test(output)) {
        t.skip('port 5000 was taken meanwhile');
        return;
      }
      if (Date.now() > deadline) assert.fail(`the default server did not come up:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const doc = (await (await fetch('http://127.0.0.1:5000/openapi.json')).json()) as OpenApiDoc;
    assert.equal(doc.paths['/v2/_catalog']?.['get']?.operationId, 'listRepositories');
    assert.match(output, /embedded default/);
  });
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createNetServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
