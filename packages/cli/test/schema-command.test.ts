/** `zot-cli schema` (the JSON Schema and reference of the config file) and verify's reading of zot's case-insensitive keys. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type MainIo } from '../src/main.js';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: MainIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) };
  return { code: await main(argv, io), stdout, stderr };
}

describe('zot-cli schema', () => {
  test('prints the JSON Schema of the config file', async () => {
    const { code, stdout } = await run(['schema']);
    assert.equal(code, 0);
    const schema = JSON.parse(stdout) as { $schema: string; properties: Record<string, { properties?: Record<string, unknown> }> };
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.deepEqual(Object.keys(schema.properties), ['distSpecVersion', 'storage', 'http', 'log', 'extensions']);
    assert.ok(schema.properties.http?.properties?.accessControl, 'the security keys are part of it');
  });

  test('--markdown prints the reference table; anything else is refused', async () => {
    const table = await run(['schema', '--markdown']);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^\| key \| type \| default \| meaning \|$/m);
    assert.match(table.stdout, /^\| `http\.tls\.cacert` \| string \|/m);
    const bad = await run(['schema', '--yaml']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /only option is --markdown/);
  });
});

test('verify reads keys case-insensitively, as zot does (storage keys keep their spelling for now)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zot-cli-case-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    'distspecversion: 1.1.0\nstorage:\n  rootDirectory: /tmp/zot\nHTTP:\n  Address: 127.0.0.1\n  Port: 5000\n  TLS:\n    Cert: c\n    Key: k\nLog:\n  Level: debug\n',
  );
  const ok = await run(['verify', file]);
  assert.equal(ok.code, 0, ok.stderr);
  writeFileSync(file, 'http:\n  port: 5000\n  Port: 5001\n');
  const twice = await run(['verify', file]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /http\.Port: same key as "port"/);
});
