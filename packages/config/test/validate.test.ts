import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, validateSection, type ConfigIssue } from '../src/index.js';

function problems(config: unknown): string[] {
  const result = validateConfig(config);
  return result.ok ? [] : result.issues.map((i: ConfigIssue) => `${i.path}: ${i.message}`);
}

function valid<T>(result: { ok: true; value: T } | { ok: false; issues: ConfigIssue[] }): T {
  if (!result.ok) assert.fail(result.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return result.value;
}

describe('keys are case-insensitive, as zot reads them', () => {
  test('every section but storage maps any spelling to the schema key', () => {
    const config = valid(
      validateConfig({
        DistSpecVersion: '1.1.0',
        HTTP: { Address: '0.0.0.0', PORT: 8080, TLS: { Cert: 'c', Key: 'k', CACert: 'ca' }, Limits: { MaxManifestSize: 8192 } },
        log: { LEVEL: 'debug' },
        Extensions: { Metrics: { Prometheus: { Path: '/m' } }, scrub: { Interval: '2h' } },
        storage: {
          rootDirectory: '/x',
          storageDriver: { Name: 's3', Bucket: 'b', RegionEndpoint: 'http://127.0.0.1:7480', ForcePathStyle: true },
        },
      }),
    );
    assert.equal(config.distSpecVersion, '1.1.0');
    assert.deepEqual(config.http?.tls, { cert: 'c', key: 'k', cacert: 'ca' });
    assert.equal(config.http?.port, 8080);
    assert.equal(config.http?.limits?.maxManifestSize, 8192);
    assert.equal(config.log?.level, 'debug');
    assert.equal(config.extensions?.metrics?.prometheus?.path, '/m');
    assert.deepEqual(config.storage?.storageDriver, {
      name: 's3',
      bucket: 'b',
      regionendpoint: 'http://127.0.0.1:7480',
      forcepathstyle: true,
    });
  });

  test('storage keys keep their exact spelling for now (a typo gets a suggestion)', () => {
    assert.deepEqual(problems({ storage: { rootdirectory: '/x', GC: true } }), [
      'storage.rootdirectory: unknown key (did you mean "rootDirectory"?)',
      'storage.GC: unknown key (did you mean "gc"?)',
    ]);
  });

  test('two spellings of one key are refused', () => {
    assert.deepEqual(problems({ http: { port: 1, Port: 2 } }), ['http.Port: same key as "port" (keys are case-insensitive)']);
  });

  test('actions and identity attributes take their canonical spelling', () => {
    const http = valid(
      validateSection('http', {
        tls: { cert: 'c', key: 'k', cacert: 'ca' },
        auth: { mtls: { identityAttributes: ['commonname'] } },
        accessControl: { repositories: { '**': { defaultPolicy: ['Read', 'CREATE'] } } },
      }),
    );
    assert.deepEqual(http?.auth?.mtls?.identityAttributes, ['CommonName']);
    assert.deepEqual(http?.accessControl?.repositories?.['**']?.defaultPolicy, ['read', 'create']);
  });

  test('map keys (repository globs, group names) are never renamed', () => {
    const http = valid(validateSection('http', { accessControl: { Groups: { Devs: { Users: ['A'] } }, Repositories: { 'Team/**': {} } } }));
    assert.deepEqual(Object.keys(http?.accessControl?.groups ?? {}), ['Devs']);
    assert.deepEqual(Object.keys(http?.accessControl?.repositories ?? {}), ['Team/**']);
  });
});

describe('values', () => {
  test('a key with no value (YAML `key:`) is not set', () => {
    const config = valid(validateConfig({ storage: { rootDirectory: null, gc: null }, http: { tls: null } }));
    assert.deepEqual(config, { storage: {}, http: {} });
    assert.deepEqual(problems({ http: { tls: { cert: null, key: 'k' } } }), ['http.tls.cert: is required']);
  });

  test('the older accessControl layout (globs directly in the section) is folded into repositories', () => {
    const http = valid(
      validateSection('http', { accessControl: { 'team/*': { defaultPolicy: ['read'] }, adminPolicy: { users: ['root'] } } }),
    );
    assert.deepEqual(Object.keys(http?.accessControl?.repositories ?? {}), ['team/*']);
    assert.deepEqual(http?.accessControl?.adminPolicy?.users, ['root']);
    // Errors point at the key as written.
    assert.deepEqual(problems({ http: { accessControl: { 'a}': { defaultPolicy: ['fly'] } } } }), [
      'http.accessControl["a}"].defaultPolicy[0]: unknown action "fly" (expected one of read, create, update, delete)',
      'http.accessControl["a}"]: invalid repository glob "a}": unbalanced }',
    ]);
  });

  test('durations are Go durations; retention globs are checked', () => {
    assert.deepEqual(problems({ storage: { gcDelay: '1h30m', gcInterval: '72h', retention: { delay: '500ms' } } }), []);
    assert.deepEqual(problems({ storage: { gcDelay: '5' } }), [
      'storage.gcDelay: expected a duration such as "1h", "30m" or "90s", got the string "5"',
    ]);
    assert.deepEqual(problems({ storage: { retention: { policies: [{ repositories: ['{dev,prod}/**', 'team/[x'] }] } } }), [
      'storage.retention.policies[0].repositories[1]: invalid repository glob "team/[x": unclosed [',
    ]);
    assert.match(
      problems({ storage: { retention: { policies: [{ repositories: ['**'], keepTags: [{ patterns: ['(v'] }] }] } } })[0]!,
      /keepTags\[0\]\.patterns\[0\]: not a valid regular expression/,
    );
  });

  test('secrets are never repeated in messages', () => {
    const lines = problems({
      storage: { storageDriver: { name: 's3', bucket: 'b', accesskey: 'AKIA', secretkey: 424242, sessiontoken: 31337 } },
      http: { auth: { ldap: { address: 'h', baseDN: 'b', bindPassword: 987654 } } },
    });
    assert.equal(lines.length, 4, lines.join('\n'));
    for (const secret of ['424242', '31337', '987654']) assert.ok(!lines.join('\n').includes(secret), lines.join('\n'));
    assert.ok(lines.includes('storage.storageDriver.secretkey: expected a non-empty string, got a number'), lines.join('\n'));
  });

  test('cross-key checks', () => {
    assert.deepEqual(problems({ http: { auth: { mtls: {} } } }), [
      'http.auth.mtls: needs http.tls.cacert (the CA that signs client certificates)',
    ]);
    assert.deepEqual(problems({ storage: { storageDriver: { name: 's3', bucket: 'b', accesskey: 'a' } } }), [
      'storage.storageDriver.secretkey: accesskey and secretkey go together: give both or neither',
    ]);
    assert.deepEqual(problems({ http: { auth: { ldap: { address: 'h', baseDN: 'b', bindPassword: 'x' } } } }), [
      'http.auth.ldap.bindPassword: is set without bindDN',
    ]);
  });

  test('odd key names are quoted in paths', () => {
    assert.deepEqual(problems({ http: { 'my key': 1 } }), ['http["my key"]: unknown key (not supported by zot-ts)']);
  });

  test('a section validated alone reports paths from the file', () => {
    const result = validateSection('http', { port: 'x' });
    assert.ok(!result.ok);
    assert.equal(result.issues[0]!.path, 'http.port');
    assert.deepEqual(validateSection('http', undefined), { ok: true, value: undefined });
  });
});
