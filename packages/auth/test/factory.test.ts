import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateOrPasswordAuthenticator } from '../src/composite.js';
import { SecurityConfigError } from '../src/config.js';
import { createSecurityFromConfig } from '../src/factory.js';
import { MtlsAuthenticator } from '../src/mtls.js';
import { PasswordAuthenticator } from '../src/password-authenticator.js';
import { AccessControlAuthorizer, AuthenticatedOnlyAuthorizer } from '../src/policy/access-control.js';
import { generateCertificates } from '../src/testing/certs.js';
import { htpasswdAvailable, htpasswdSet } from '../src/testing/htpasswd.js';
import { captureLogger } from './helpers/logger.js';

const skip = htpasswdAvailable() ? false : 'htpasswd (apache2-utils) is not installed';

async function withDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'zot-factory-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('no security keys: no authenticator, no authorizer, no TLS', async () => {
  const security = await createSecurityFromConfig({ address: '127.0.0.1', port: '5000' });
  assert.equal(security.authenticator, undefined);
  assert.equal(security.authorizer, undefined);
  assert.equal(security.tls, undefined);
  await security.close();
});

test('accessControl alone: everyone is anonymous and only anonymousPolicy applies', async () => {
  const security = await createSecurityFromConfig({ accessControl: { repositories: { '**': { anonymousPolicy: ['read'] } } } });
  assert.equal(security.authenticator, undefined);
  assert.ok(security.authorizer instanceof AccessControlAuthorizer);
  assert.equal(await security.authorizer.authorize(undefined, 'x', 'read'), true);
  assert.equal(await security.authorizer.authorize(undefined, 'x', 'create'), false);
});

test('which authenticator for which config: htpasswd, mutual TLS, both', { skip }, () =>
  withDir(async (dir) => {
    const certs = await generateCertificates(join(dir, 'certs'), { clients: [] });
    const htpasswd = join(dir, 'htpasswd');
    await htpasswdSet(htpasswd, 'alice', 'pw', 'bcrypt');
    const tls = { cert: certs.server.cert, key: certs.server.key };
    const { logger, lines } = captureLogger();

    const password = await createSecurityFromConfig({ auth: { htpasswd: { path: htpasswd } } }, { logger });
    assert.ok(password.authenticator instanceof PasswordAuthenticator);
    assert.ok(password.authorizer instanceof AuthenticatedOnlyAuthorizer);
    assert.ok(
      lines.some((l) => l.level === 'warn' && l.msg.includes('clear text')),
      'password auth without TLS is warned about',
    );

    const mtls = await createSecurityFromConfig({ tls: { ...tls, cacert: certs.ca.cert } });
    assert.ok(mtls.authenticator instanceof MtlsAuthenticator);
    assert.equal(mtls.tls?.rejectUnauthorized, true);

    const mixed = await createSecurityFromConfig({
      tls: { ...tls, cacert: certs.ca.cert },
      auth: { htpasswd: { path: htpasswd } },
      realm: 'r',
    });
    assert.ok(mixed.authenticator instanceof CertificateOrPasswordAuthenticator);
    assert.equal(mixed.tls?.rejectUnauthorized, false);
    assert.equal(mixed.authenticator.challenge(), 'Basic realm="r"');
  }),
);

test('an invalid config throws with every problem', async () => {
  await assert.rejects(
    createSecurityFromConfig({ tls: {}, accessControl: { repositories: { '**': { defaultPolicy: ['fly'] } } } }),
    (err: unknown) => err instanceof SecurityConfigError && err.problems.length === 3,
  );
});

test('LDAP credentials file: read as zot does; its content never appears in errors', () =>
  withDir(async (dir) => {
    const missing = createSecurityFromConfig({
      auth: { ldap: { address: '127.0.0.1', baseDN: 'dc=x', credentialsFile: join(dir, 'nope.json') } },
    });
    await assert.rejects(missing, /cannot read the LDAP credentials file .*ENOENT/);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"bindDN": "cn=reader", "bindPassword": "Leaky-Secret-1"');
    await assert.rejects(
      createSecurityFromConfig({ auth: { ldap: { address: '127.0.0.1', baseDN: 'dc=x', credentialsFile: broken } } }),
      (err: unknown) => err instanceof Error && /not valid JSON/.test(err.message) && !err.message.includes('Leaky-Secret-1'),
    );
    const good = join(dir, 'good.json');
    await writeFile(good, JSON.stringify({ BindDN: 'cn=reader,dc=x', BindPassword: 'pw' }));
    const security = await createSecurityFromConfig({ auth: { ldap: { address: '127.0.0.1', baseDN: 'dc=x', credentialsFile: good } } });
    assert.ok(security.authenticator instanceof PasswordAuthenticator);
    await security.close();
  }));
