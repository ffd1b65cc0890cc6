/**
 * The operations keys of the config file (`http.swagger`, `extensions.metrics`, `log.audit`):
 * `zot-cli verify` knows them, refuses bad values with their path, and `serve` refuses a metrics
 * path that would shadow the registry API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/main.js';
import { startServer } from '../helpers/server.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function verify(config: unknown, name = 'config.json'): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'zot-ops-config-'));
  dirs.push(dir);
  const file = join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  let output = '';
  const code = await main(['verify', file], { stdout: (t) => (output += t), stderr: (t) => (output += t) });
  return { code, output };
}

const base = { distSpecVersion: '1.1.0', storage: { rootDirectory: '/tmp/zot' }, http: { address: '127.0.0.1', port: '5000' } };

describe('operations config keys', () => {
  it('zot-cli verify accepts them as zot writes them (JSON and YAML)', async () => {
    const json = await verify({
      ...base,
      http: { ...base.http, swagger: false },
      log: { level: 'debug', output: '/tmp/zot.log', audit: '/tmp/zot-audit.log' },
      extensions: { metrics: { enable: true, prometheus: { path: '/metrics' } } },
    });
    assert.equal(json.code, 0, json.output);
    const yaml = await verify(
      `distSpecVersion: "1.1.0"
storage:
  rootDirectory: /tmp/zot
http:
  address: 127.0.0.1
  port: "5000"
log:
  level: info
  audit: /tmp/zot-audit.log
extensions:
  metrics:
    enable: true
    prometheus:
      path: /internal/metrics
`,
      'config.yaml',
    );
    assert.equal(yaml.code, 0, yaml.output);
  });

  it('zot-cli verify refuses wrong values with their path', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...base, http: { ...base.http, swagger: 'yes' } }, /http\.swagger/],
      [{ ...base, extensions: { metrics: { enable: 'true' } } }, /extensions\.metrics\.enable/],
      [{ ...base, extensions: { metrics: { prometheus: { path: 'metrics' } } } }, /extensions\.metrics\.prometheus\.path/],
      [{ ...base, extensions: { metrics: { prometheus: { port: 9100 } } } }, /extensions\.metrics\.prometheus\.port/],
      [{ ...base, log: { audit: '' } }, /log\.audit/],
    ];
    for (const [config, message] of cases) {
      const result = await verify(config);
      assert.equal(result.code, 1, `${JSON.stringify(config)} was accepted:\n${result.output}`);
      assert.match(result.output, message);
    }
  });

  it('zot-cli serve refuses a metrics path inside the registry API', async () => {
    await assert.rejects(
      startServer({ config: { extensions: { metrics: { prometheus: { path: '/v2/metrics' } } } } }),
      (err: Error) =>
        /exited before answering \(code 1/.test(err.message) && /prometheus\.path must be a plain path outside \/v2\//.test(err.message),
    );
  });
});
