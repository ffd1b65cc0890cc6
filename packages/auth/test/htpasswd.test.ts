import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HtpasswdFile, parseHtpasswd } from '../src/htpasswd/file.js';
import { classifyHash } from '../src/htpasswd/hashes.js';
import { htpasswdAvailable, htpasswdDelete, htpasswdSet } from '../src/testing/htpasswd.js';
import { captureLogger } from './helpers/logger.js';

const skip = htpasswdAvailable() ? false : 'htpasswd (apache2-utils) is not installed';

async function withDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'zot-htpasswd-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('files written by htpasswd -B, -m and -s verify; wrong passwords and unknown users do not', { skip }, () =>
  withDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await htpasswdSet(path, 'bcrypt-user', 'pw-bcrypt', 'bcrypt');
    await htpasswdSet(path, 'md5-user', 'pw-md5', 'md5');
    await htpasswdSet(path, 'sha-user', 'pw-sha', 'sha1');
    const file = await HtpasswdFile.open(path);
    assert.equal(file.size, 3);
    for (const [user, password] of [
      ['bcrypt-user', 'pw-bcrypt'],
      ['md5-user', 'pw-md5'],
      ['sha-user', 'pw-sha'],
    ] as const) {
      assert.deepEqual(await file.verify(user, password), { ok: true, groups: [] }, user);
      assert.deepEqual(await file.verify(user, `${password}x`), { ok: false, reason: 'wrong-password' }, user);
      assert.deepEqual(await file.verify(user, ''), { ok: false, reason: 'wrong-password' }, user);
    }
    assert.deepEqual(await file.verify('nobody', 'pw-bcrypt'), { ok: false, reason: 'unknown-user' });
  }),
);

test('$2a$ and $2b$ bcrypt prefixes are accepted like $2y$', { skip }, () =>
  withDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await htpasswdSet(path, 'u', 'secret', 'bcrypt');
    const file = await HtpasswdFile.open(path);
    assert.ok((await file.verify('u', 'secret')).ok);
    const hash = parseHtpasswd(await readFile(path, 'utf8')).users.get('u')!;
    assert.ok(hash.value.startsWith('$2y$'));
    for (const prefix of ['$2a$', '$2b$']) {
      const path2 = join(dir, `h${prefix.slice(2, 3)}`);
      await writeFile(path2, `u:${prefix}${hash.value.slice(4)}\n`);
      assert.ok((await (await HtpasswdFile.open(path2)).verify('u', 'secret')).ok, prefix);
    }
  }),
);

test('plaintext and crypt(3) entries are refused with a log line that does not show them', { skip }, () =>
  withDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await htpasswdSet(path, 'good', 'good-pw', 'bcrypt');
    await appendFile(path, 'plain:plain-secret\ncrypt:sZLoGFUPfHMfA\n# comment\n\nbroken line\n');
    const { logger, lines } = captureLogger();
    const file = await HtpasswdFile.open(path, { logger });
    assert.equal(file.size, 1);
    assert.deepEqual(await file.verify('plain', 'plain-secret'), { ok: false, reason: 'unknown-user' });
    const warnings = lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    assert.ok(
      warnings.some((w) => w.includes('"plain"') && w.includes('plaintext')),
      warnings.join('\n'),
    );
    assert.ok(warnings.some((w) => w.includes('"crypt"')));
    assert.ok(!JSON.stringify(lines).includes('plain-secret'), 'the plaintext password is never logged');
    assert.ok(!JSON.stringify(lines).includes('sZLoGFUPfHMfA'));
  }),
);

test('the file is re-read when it changes on disk: new users, removed users, changed passwords, atomic replace', { skip }, () =>
  withDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await htpasswdSet(path, 'alice', 'one', 'bcrypt');
    const file = await HtpasswdFile.open(path, { checkIntervalMs: 0 });
    const v1 = await file.version();
    await htpasswdSet(path, 'bob', 'two', 'md5');
    assert.ok((await file.verify('bob', 'two')).ok);
    assert.ok((await file.version()) > v1);
    await htpasswdSet(path, 'alice', 'changed', 'bcrypt');
    assert.equal((await file.verify('alice', 'one')).ok, false);
    assert.ok((await file.verify('alice', 'changed')).ok);
    await htpasswdDelete(path, 'bob');
    assert.deepEqual(await file.verify('bob', 'two'), { ok: false, reason: 'unknown-user' });
    // Editors and config managers replace the file by renaming a new one over it.
    const next = join(dir, 'htpasswd.new');
    await htpasswdSet(next, 'carol', 'three', 'sha1');
    await rename(next, path);
    assert.ok((await file.verify('carol', 'three')).ok);
    assert.equal((await file.verify('alice', 'changed')).ok, false);
  }),
);

test('a vanished file keeps the last users (and says so in the log)', { skip }, () =>
  withDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await htpasswdSet(path, 'alice', 'one', 'bcrypt');
    const { logger, lines } = captureLogger();
    const file = await HtpasswdFile.open(path, { checkIntervalMs: 0, logger });
    await rm(path);
    assert.ok((await file.verify('alice', 'one')).ok);
    assert.ok(lines.some((l) => l.level === 'error' && l.msg.includes('could not be re-read')));
  }),
);

test('changes are noticed within the check interval, not on every request', { skip }, () =>
  withDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await htpasswdSet(path, 'alice', 'one', 'bcrypt');
    let now = 1_000_000;
    const file = await HtpasswdFile.open(path, { checkIntervalMs: 1000, now: () => now });
    await file.verify('alice', 'one');
    await htpasswdSet(path, 'bob', 'two', 'bcrypt');
    now += 999;
    assert.equal((await file.verify('bob', 'two')).ok, false, 'within the interval the old content is used');
    now += 1;
    assert.ok((await file.verify('bob', 'two')).ok);
  }),
);

test('a missing file fails at startup', async () => {
  await assert.rejects(HtpasswdFile.open('/nonexistent/htpasswd'), /ENOENT/);
});

test('hash classification', () => {
  assert.equal(classifyHash('secret'), undefined);
  assert.equal(classifyHash('$1$abc$def'), undefined);
  assert.equal(classifyHash('{SHA}tooshort'), undefined);
  assert.equal(classifyHash('$apr1$aBxOe9NJ$9SH.R2ZePRhVBEthp6p76.')?.kind, 'apr1');
  assert.equal(classifyHash('{SHA}lcsL/Sl3x2EpjZYk5LTUxyo5l0o=')?.kind, 'sha1');
});

test('SHA-crypt entries ($5$ and $6$, as openssl passwd -5/-6 writes them, with and without rounds=) verify', () =>
  withDir(async (dir) => {
    const { run } = await import('../src/testing/run.js');
    const hash = async (...args: string[]) => (await run('openssl', ['passwd', ...args, '-stdin'], { input: 'sha-crypt-pw' })).trim();
    const lines = [
      `five:${await hash('-5')}`,
      `six:${await hash('-6')}`,
      `six-salted:${await hash('-6', '-salt', 'abcdefgh')}`,
      // glibc's format with an explicit round count (what mkpasswd -R writes).
      'rounds:$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
    ];
    const path = join(dir, 'htpasswd');
    await writeFile(path, `${lines.join('\n')}\n`);
    assert.equal(classifyHash(lines[0]!.slice(5))?.kind, 'sha256crypt');
    assert.equal(classifyHash(lines[1]!.slice(4))?.kind, 'sha512crypt');
    assert.equal(classifyHash('$6$salt$tooshort'), undefined);
    const file = await HtpasswdFile.open(path);
    assert.equal(file.size, 4);
    for (const user of ['five', 'six', 'six-salted']) {
      assert.deepEqual(await file.verify(user, 'sha-crypt-pw'), { ok: true, groups: [] }, user);
      assert.deepEqual(await file.verify(user, 'sha-crypt-pwx'), { ok: false, reason: 'wrong-password' }, user);
    }
    // The reference vector of the SHA-crypt specification (Drepper), rounds=10000.
    assert.deepEqual(await file.verify('rounds', 'Hello world!'), { ok: true, groups: [] });
  }));
