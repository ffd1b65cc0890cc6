import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { configJsonSchema, loadConfigFile, parseConfigText } from '../src/index.js';

const examples = join(import.meta.dirname, '..', '..', '..', '..', 'examples');

function compile(): ReturnType<Ajv2020['compile']> {
  // allowUnionTypes: ports and seconds are "number or string", as zot writes them.
  return new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true }).compile(configJsonSchema());
}

test('the generated JSON Schema validates every example config', async () => {
  const validate = compile();
  const files = readdirSync(examples).filter((f) => /^config-.*\.(json|ya?ml)$/.test(f));
  assert.ok(files.length >= 6, files.join(', '));
  for (const file of files) {
    const path = join(examples, file);
    await loadConfigFile(path); // and the schema itself accepts it
    const ok = validate(parseConfigText(readFileSync(path, 'utf8'), path));
    assert.ok(ok, `${file}: ${JSON.stringify(validate.errors)}`);
  }
});

test('the JSON Schema refuses what verify refuses', () => {
  const validate = compile();
  for (const bad of [
    { http: { prot: 5000 } },
    { storage: { gc: 'yes' } },
    { storage: { gcDelay: 'soon' } },
    { log: { level: 'loud' } },
    { http: { tls: { cert: 'c' } } },
    { http: { auth: { ldap: { address: 'h', baseDN: 'b', queryTimeout: 0 } } } },
    { http: { accessControl: { repositories: { '**': { defaultPolicy: ['push'] } } } } },
  ]) {
    assert.equal(validate(bad), false, JSON.stringify(bad));
  }
});

/** The JSON Schema node at a dotted path of property names. */
function at(schema: Record<string, unknown>, path: string): Record<string, unknown> {
  return path.split('.').reduce((node, key) => (node.properties as Record<string, Record<string, unknown>>)[key]!, schema);
}

test('it carries what the docs need: descriptions, defaults, required keys, secrets', () => {
  const schema = configJsonSchema();
  assert.equal(at(schema, 'storage.rootDirectory').default, './zot-data');
  assert.match(String(at(schema, 'storage.rootDirectory').description), /OCI image layout/);
  assert.equal(at(schema, 'storage.gcDelay').default, '1h');
  assert.deepEqual(at(schema, 'http.auth.ldap').required, ['address', 'baseDN']);
  assert.equal(at(schema, 'http.auth.ldap.bindPassword').writeOnly, true);
  assert.equal(at(schema, 'http.auth.ldap.queryTimeout').default, 5);
});
