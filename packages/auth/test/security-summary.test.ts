import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSecurityConfig, summarizeSecurity } from '../src/config.js';

const summary = (http: unknown) => summarizeSecurity(parseSecurityConfig(http));

test('which logins are on, and who may scrape metrics', () => {
  assert.deepEqual(summary(undefined), { authentication: false, passwordLogin: false, clientCertificates: false });
  assert.deepEqual(summary({ tls: { cert: 'c', key: 'k' } }), { authentication: false, passwordLogin: false, clientCertificates: false });
  assert.deepEqual(summary({ auth: { htpasswd: { path: '/etc/htpasswd' } } }), {
    authentication: true,
    passwordLogin: true,
    clientCertificates: false,
  });
  assert.deepEqual(summary({ auth: { htpasswd: { path: '' } } }).authentication, false, 'an empty htpasswd path is off, as zot');
  assert.deepEqual(summary({ auth: { ldap: { address: 'h', baseDN: 'b' } } }).passwordLogin, true);
  assert.deepEqual(summary({ tls: { cert: 'c', key: 'k', cacert: 'ca' } }), {
    authentication: true,
    passwordLogin: false,
    clientCertificates: true,
  });
  assert.deepEqual(summary({ auth: { htpasswd: { path: 'p' } }, accessControl: { metrics: { users: ['prometheus'] } } }).metricsUsers, [
    'prometheus',
  ]);
  assert.deepEqual(
    summary({ AccessControl: { Metrics: { Users: ['p'] }, '**': { defaultPolicy: ['read'] } } }).metricsUsers,
    ['p'],
    'older layout, any case',
  );
});
