/** `zot-cli verify` and `serve` on the security keys: the examples pass, mistakes are listed with their paths. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliPath, repoRoot } from '../helpers/server.js';

function cli(...args: string[]): { code: number | null; output: string } {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const result = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env, timeout: 30_000 });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('zot-cli verify with security settings', () => {
  for (const example of [
    'config-htpasswd.json',
    'config-ldap.yaml',
    'config-mtls.json',
    'config-policy.json',
    'config-token-service.yaml',
    'config-bearer.json',
    'config-openid.yaml',
  ]) {
    it(`accepts examples/${example}`, () => {
      const { code, output } = cli('verify', join(repoRoot, 'examples', example));
      assert.equal(code, 0, output);
      assert.match(output, /config OK/);
    });
  }

  it('lists every security mistake with its key path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zot-verify-'));
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        storage: { rootDirectory: join(dir, 'data') },
        http: {
          port: '5000',
          tls: { cert: 'server.crt' },
          auth: {
            htpasswd: { path: '/etc/zot/htpasswd' },
            bearer: {},
            ldap: { address: 'ldap.example.org', port: 99999, bindPassword: 'Do-Not-Echo-Me' },
          },
          accessControl: { repositories: { 'team/[x': { defaultPolicy: ['push'] } } },
        },
      }),
    );
    const { code, output } = cli('verify', file);
    assert.equal(code, 1);
    for (const expected of [
      'http.tls.key: is required',
      // An empty bearer section: token auth needs the issuer's certificate (or the built-in token service).
      'http.auth.bearer.cert: is required',
      'http.auth.ldap.baseDN: is required',
      'http.auth.ldap.port',
      'unclosed [',
      'unknown action "push"',
    ]) {
      assert.ok(output.includes(expected), `"${expected}" missing from:\n${output}`);
    }
    assert.ok(!output.includes('Do-Not-Echo-Me'), 'the bind password is not echoed');
  });

  it('serve refuses to start when the htpasswd file or a certificate is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zot-verify-'));
    for (const http of [
      { port: '0', auth: { htpasswd: { path: join(dir, 'missing-htpasswd') } } },
      { port: '0', tls: { cert: join(dir, 'missing.crt'), key: join(dir, 'missing.key') } },
    ]) {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ storage: { rootDirectory: join(dir, 'data') }, http: { address: '127.0.0.1', ...http } }));
      const { code, output } = cli('serve', file);
      assert.equal(code, 1, output);
      assert.match(output, /ENOENT|no such file/);
    }
  });
});
