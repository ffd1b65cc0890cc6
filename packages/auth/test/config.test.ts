import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSeconds as parseDuration } from '@zotjs/config';
import { parseSecurityConfig, SecurityConfigError, validateSecurityConfig } from '../src/config.js';

// zot's examples/config-ldap.json `http` section.
const zotLdapExample = {
  address: '127.0.0.1',
  port: '8080',
  realm: 'zot',
  tls: { cert: 'test/data/server.cert', key: 'test/data/server.key' },
  auth: {
    ldap: {
      credentialsFile: 'examples/config-ldap-credentials.json',
      address: 'ldap.example.org',
      port: 389,
      startTLS: false,
      baseDN: 'ou=Users,dc=example,dc=org',
      userAttribute: 'uid',
      userGroupAttribute: 'memberOf',
      skipVerify: true,
      subtreeSearch: true,
    },
    failDelay: 5,
  },
  accessControl: {
    repositories: {
      '**': {
        policies: [
          {
            users: ['charlie'],
            groups: ['admins', 'developers', 'cn=ldap-group,ou=Groups,dc=example,dc=org'],
            actions: ['read', 'create', 'update'],
          },
        ],
        defaultPolicy: [],
      },
      'tmp/**': { defaultPolicy: ['read', 'create', 'update'] },
    },
    adminPolicy: { users: ['admin'], groups: ['admins', 'developers'], actions: ['read', 'create', 'update', 'delete'] },
  },
};

test("zot's LDAP example parses unchanged", () => {
  const config = parseSecurityConfig(zotLdapExample);
  assert.equal(config.realm, 'zot');
  assert.deepEqual(config.tls, { cert: 'test/data/server.cert', key: 'test/data/server.key' });
  assert.equal(config.auth?.failDelay, 5);
  assert.equal(config.auth?.ldap?.port, 389);
  assert.equal(config.auth?.ldap?.subtreeSearch, true);
  assert.equal(config.auth?.ldap?.insecure, false);
  assert.equal(config.auth?.ldap?.queryTimeout, 5);
  assert.equal(config.auth?.ldap?.credentialsFile, 'examples/config-ldap-credentials.json');
  assert.deepEqual(Object.keys(config.accessControl!.repositories), ['**', 'tmp/**']);
  assert.deepEqual(config.accessControl!.adminPolicy.groups, ['admins', 'developers']);
});

test('keys match case-insensitively, as in zot (CACert, cacert, caCert are one key)', () => {
  const config = parseSecurityConfig({
    TLS: { Cert: 'c', KEY: 'k', CACert: 'ca' },
    Auth: { HTPasswd: { Path: '/etc/htpasswd' }, FailDelay: '2' },
    AccessControl: { Repositories: { '**': { DefaultPolicy: ['READ'] } } },
  });
  assert.deepEqual(config.tls, { cert: 'c', key: 'k', cacert: 'ca' });
  assert.deepEqual(config.auth?.htpasswd, { path: '/etc/htpasswd' });
  assert.equal(config.auth?.failDelay, 2);
  assert.deepEqual(config.accessControl?.repositories['**']?.defaultPolicy, ['read']);
});

test('no http section, or one without security keys, means no security', () => {
  assert.deepEqual(parseSecurityConfig(undefined), { realm: 'Authorization Required' });
  assert.deepEqual(parseSecurityConfig({ address: '0.0.0.0', port: '5000' }), { realm: 'Authorization Required' });
});

test('every problem is reported at once, with its key path', () => {
  const problems = validateSecurityConfig({
    realm: 'bad "realm"',
    tls: { cert: 'c' },
    auth: {
      failDelay: -1,
      ldap: { port: 70000, userAttribute: 'uid)(x', queryTimeout: 'soon', userFilter: 'objectClass=person' },
      mtls: { identityAttributes: ['SerialNumber'] },
    },
    accessControl: {
      repositories: { 'team/[abc': { defaultPolicy: ['read', 'push'] }, x: 'nope' },
      adminPolicy: { users: 'admin' },
    },
  });
  const expected = [
    'http.realm',
    'http.tls.key: is required',
    'http.auth.failDelay',
    'http.auth.ldap.address: is required',
    'http.auth.ldap.baseDN: is required',
    'http.auth.ldap.port',
    'http.auth.ldap.userAttribute',
    'http.auth.ldap.queryTimeout',
    'http.auth.ldap.userFilter',
    'SerialNumber',
    'team/[abc',
    'unknown action "push"',
    'http.accessControl.repositories["x"]: must be an object',
    'http.accessControl.adminPolicy.users: must be a list',
    'http.auth.mtls: needs http.tls.cacert',
  ];
  const lines = problems.map((p) => `${p.path}: ${p.message}`);
  for (const fragment of expected)
    assert.ok(
      lines.some((l) => l.includes(fragment)),
      `missing "${fragment}" in:\n${lines.join('\n')}`,
    );
  assert.throws(() => parseSecurityConfig({ tls: {} }), SecurityConfigError);
});

test('an empty htpasswd path means htpasswd is off (as zot)', () => {
  assert.equal(parseSecurityConfig({ auth: { htpasswd: { path: '' } } }).auth?.htpasswd, undefined);
});

test('durations: numbers, numeric strings and Go durations', () => {
  assert.equal(parseDuration('5'), 5);
  assert.equal(parseDuration('1.5'), 1.5);
  assert.equal(parseDuration('250ms'), 0.25);
  assert.equal(parseDuration('1m30s'), 90);
  assert.ok(Number.isNaN(parseDuration('soon')));
  assert.ok(Number.isNaN(parseDuration('')));
  assert.equal(parseSecurityConfig({ auth: { ldap: { address: 'h', baseDN: 'b', queryTimeout: '2s' } } }).auth?.ldap?.queryTimeout, 2);
});

test('unknown keys are reported (zot features zot-ts does not have are refused, not ignored)', () => {
  const problems = validateSecurityConfig({
    tls: { cert: 'c', key: 'k', certfile: 'x' },
    auth: {
      htpasswd: { path: 'p' },
      // bearer and apikey are implemented; these zot keys are not.
      bearer: { realm: 'https://auth.example/token', service: 's', cert: 'c', upstreamTokenEndpoint: { realm: 'x' } },
      sessionHashKey: 'x',
      ldap: { address: 'a', baseDN: 'b', bindPasswd: 'x' },
    },
    accessControl: { repositories: { '**': { policies: [{ user: ['a'] }], defaultpolicy: ['read'] } }, extra: {} },
  }).map((p) => p.path);
  assert.deepEqual(problems.sort(), [
    'http.accessControl.extra',
    'http.accessControl.repositories["**"].policies[0].user',
    'http.auth.bearer.upstreamTokenEndpoint',
    'http.auth.ldap.bindPasswd',
    'http.auth.sessionHashKey',
    'http.tls.certfile',
  ]);
});

test('the older accessControl layout (globs at the top) takes any key as a glob, besides adminPolicy, groups and metrics', () => {
  const config = parseSecurityConfig({
    accessControl: {
      '**': { defaultPolicy: ['read'] },
      adminPolicy: { users: ['root'], actions: ['delete'] },
      metrics: { users: ['prom'] },
    },
  });
  assert.deepEqual(Object.keys(config.accessControl!.repositories), ['**']);
  assert.deepEqual(config.accessControl!.adminPolicy.users, ['root']);
});
