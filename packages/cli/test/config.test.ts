import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, parseConfig } from '@zotjs/config';
import { EMBEDDED_DEFAULT_CONFIG } from '../src/config/defaults.js';
import { resolveSettings } from '../src/config/settings.js';
import { availableParallelism } from 'node:os';
import { main, type MainIo } from '../src/main.js';
import { cliPath, repoRoot, serverUser } from './helpers/server.js';

function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'zot-cli-config-'));
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: MainIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const ZOT_STYLE_JSON = JSON.stringify({
  distSpecVersion: '1.1.0',
  storage: { rootDirectory: '/tmp/zot', gc: true, dedupe: true, gcDelay: '1h', gcInterval: '24h' },
  http: { address: '127.0.0.1', port: '8080', realm: 'zot' },
  log: { level: 'debug', output: '/tmp/zot.log' },
});

const ZOT_STYLE_YAML = `# as in zot's examples
distSpecVersion: "1.1.0"
storage:
  rootDirectory: /tmp/zot
  gc: true
  dedupe: false
http:
  address: 0.0.0.0
  port: 8080
log:
  level: info
`;

describe('config loading', () => {
  test('a zot-style JSON file is accepted, with the port as a string', async () => {
    const file = tempFile('config.json', ZOT_STYLE_JSON);
    const { config, path } = await loadConfigFile(file);
    assert.equal(path, file);
    assert.equal(config.http?.port, '8080');
    const settings = resolveSettings(config);
    assert.equal(settings.http.port, 8080);
    assert.equal(settings.storage.rootDirectory, '/tmp/zot');
    assert.equal(settings.storage.gc, true);
    assert.equal(settings.log.level, 'debug');
    assert.equal(settings.log.output, '/tmp/zot.log');
  });

  test('a YAML file is accepted, with the port as a number', async () => {
    for (const name of ['config.yaml', 'config.yml']) {
      const { config } = await loadConfigFile(tempFile(name, ZOT_STYLE_YAML));
      assert.equal(config.http?.port, 8080);
      assert.equal(config.http?.address, '0.0.0.0');
      assert.equal(config.storage?.dedupe, false);
    }
  });

  test('a file without a known extension is read as JSON, then as YAML', async () => {
    assert.equal((await loadConfigFile(tempFile('zot.conf', ZOT_STYLE_JSON))).config.http?.port, '8080');
    assert.equal((await loadConfigFile(tempFile('zot.conf', ZOT_STYLE_YAML))).config.http?.port, 8080);
  });

  test('relative paths resolve against the working directory', () => {
    const settings = resolveSettings({ storage: { rootDirectory: 'data' }, log: { output: 'logs/zot.log' } }, '/srv/zot');
    assert.equal(settings.storage.rootDirectory, '/srv/zot/data');
    assert.equal(settings.log.output, '/srv/zot/logs/zot.log');
  });

  test('http.workers: default 1, 0 means one per CPU core, out of range is refused', () => {
    assert.equal(resolveSettings({}).http.workers, 1);
    assert.equal(resolveSettings({ http: { workers: 3 } }).http.workers, 3);
    assert.equal(resolveSettings({ http: { workers: 0 } }).http.workers, availableParallelism());
    assert.throws(() => parseConfig(JSON.stringify({ http: { workers: -1 } }), 'c.json'), /http\.workers/);
    assert.throws(() => parseConfig(JSON.stringify({ http: { workers: 1.5 } }), 'c.json'), /http\.workers/);
    assert.throws(() => parseConfig(JSON.stringify({ http: { workers: 'auto' } }), 'c.json'), /http\.workers/);
  });

  test('an unknown key is refused with its path and a suggestion', () => {
    assert.throws(
      () => parseConfig(JSON.stringify({ http: { address: '127.0.0.1', prot: 5000 } }), 'c.json'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(
          err.issues.map((i) => i.path),
          ['http.prot'],
        );
        assert.match(err.message, /http\.prot: unknown key \(did you mean "port"\?\)/);
        return true;
      },
    );
    assert.throws(
      () => parseConfig('storage:\n  rootdirectory: /x\n', 'c.yaml'),
      /storage\.rootdirectory: unknown key \(did you mean "rootDirectory"\?\)/,
    );
    assert.throws(() => parseConfig('{"extensionz": {}}', 'c.json'), /extensionz: unknown key/);
  });

  test('wrong types are refused with the path, what was expected and what was found', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ http: { port: 'eighty' } }, /http\.port: expected a port number .*got the string "eighty"/],
      [{ http: { port: 70000 } }, /http\.port: expected a port number/],
      [{ http: { port: 80.5 } }, /http\.port: expected a port number/],
      [{ storage: { gc: 'yes' } }, /storage\.gc: expected true or false, got the string "yes"/],
      [{ storage: { rootDirectory: 42 } }, /storage\.rootDirectory: expected a non-empty string, got number 42/],
      [{ storage: { rootDirectory: '' } }, /storage\.rootDirectory: expected a non-empty string, got an empty string/],
      [{ storage: { gcDelay: 'soon' } }, /storage\.gcDelay: expected a duration/],
      [{ log: { level: 'loud' } }, /log\.level: expected one of "trace", "debug", "info", "warn", "error", "fatal"/],
      [{ http: [] }, /http: expected an object, got a list/],
      [{ distSpecVersion: 1.1 }, /distSpecVersion: expected a version such as "1.1.0", got number 1.1/],
      [[1, 2], /\(top level\): expected an object, got a list/],
    ];
    for (const [config, pattern] of cases) {
      assert.throws(() => parseConfig(JSON.stringify(config), 'c.json'), pattern, JSON.stringify(config));
    }
  });

  test('several problems are all reported at once', () => {
    assert.throws(
      () => parseConfig(JSON.stringify({ http: { prot: 1, port: 'x' }, storage: { gc: 1 } }), 'c.json'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.issues.map((i) => i.path).sort(), ['http.port', 'http.prot', 'storage.gc']);
        return true;
      },
    );
  });

  test('missing, empty, unreadable and unparseable files give clear errors', async () => {
    await assert.rejects(loadConfigFile('/nonexistent/zot/config.json'), /config file not found: \/nonexistent\/zot\/config\.json/);
    await assert.rejects(loadConfigFile(tempFile('empty.json', '  \n')), /config file is empty/);
    await assert.rejects(loadConfigFile(tempFile('bad.json', '{"http": {')), /cannot parse .*bad\.json as JSON/);
    await assert.rejects(loadConfigFile(tempFile('bad.yaml', 'http:\n  port: [1\n')), /cannot parse .*bad\.yaml as YAML/);
    await assert.rejects(loadConfigFile(tempFile('dup.yaml', 'http:\n  port: 1\n  port: 2\n')), /duplicated mapping key/);
    await assert.rejects(loadConfigFile(mkdtempSync(join(tmpdir(), 'zot-cli-dir-'))), /is a directory/);
  });

  test('the embedded default is a valid config: ./zot-data on 127.0.0.1:5000', () => {
    const checked = parseConfig(JSON.stringify(EMBEDDED_DEFAULT_CONFIG), 'default.json');
    const settings = resolveSettings(checked, '/work/somewhere');
    assert.equal(settings.storage.rootDirectory, '/work/somewhere/zot-data');
    assert.equal(settings.http.address, '127.0.0.1');
    assert.equal(settings.http.port, 5000);
    assert.equal(settings.log.output, undefined);
  });
});

describe('zot-cli verify, --help, --version', () => {
  test('verify accepts a good file and the examples shipped with the repository', async () => {
    const ok = await run(['verify', tempFile('config.json', ZOT_STYLE_JSON)]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^config OK: /);
    for (const example of ['config-minimal.json', 'config-minimal.yaml']) {
      const res = await run(['verify', join(repoRoot, 'examples', example)]);
      assert.equal(res.code, 0, `${example}: ${res.stderr}`);
    }
  });

  test('verify exits 1 naming the key for an unknown key or a wrong type', async () => {
    const typo = await run(['verify', tempFile('config.json', '{"http": {"prot": "5000"}}')]);
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /http\.prot: unknown key/);
    const wrong = await run(['verify', tempFile('config.yaml', 'storage:\n  dedupe: maybe\n')]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /storage\.dedupe: expected true or false/);
  });

  test('verify without a file, or with a missing one, fails clearly', async () => {
    const none = await run(['verify']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /expected exactly one argument/);
    const missing = await run(['verify', '/nonexistent/config.yaml']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /config file not found/);
  });

  test('the real binary exits non-zero with the message on stderr', () => {
    const file = tempFile('config.json', '{"http": {"prot": "5000"}}');
    const res = spawnSync(process.execPath, [cliPath, 'verify', file], { encoding: 'utf8' });
    assert.equal(res.status, 1);
    assert.match(res.stderr, /invalid config .*config\.json:\n {2}http\.prot: unknown key/);
    const good = spawnSync(process.execPath, [cliPath, 'verify', join(repoRoot, 'examples', 'config-minimal.yaml')], { encoding: 'utf8' });
    assert.equal(good.status, 0, good.stderr);
  });

  test('serve refuses a bad config before starting anything', async () => {
    const res = await run(['serve', tempFile('config.json', '{"storage": {"rootDirectory": 5}}')]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /storage\.rootDirectory: expected a non-empty string/);
  });

  test('--help, --version, and unknown commands', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /serve \[config\]/);
    assert.match(help.stdout, /verify <config>/);
    const version = await run(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^zot-cli \d+\.\d+\.\d+/);
    const unknown = await run(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const nothing = await run([]);
    assert.equal(nothing.code, 2);
  });

  test('an unreadable config file is reported as such', async () => {
    const file = tempFile('config.json', '{}');
    chmodSync(file, 0o600);
    const user = serverUser();
    if (user) {
      // Root reads anything: check as the unprivileged user, with the real binary.
      const res = spawnSync(process.execPath, [cliPath, 'verify', file], { encoding: 'utf8', uid: user.uid, gid: user.gid, cwd: '/' });
      assert.equal(res.status, 1, res.stderr);
      assert.match(res.stderr, /config file not readable \(permission denied\)/);
    } else {
      chmodSync(file, 0o000);
      await assert.rejects(loadConfigFile(file), /permission denied/);
    }
  });
});
