import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBasicAuthorization } from '../src/basic-auth.js';

const basic = (text: string): string => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

test('no header or an empty one is anonymous', () => {
  assert.deepEqual(parseBasicAuthorization(undefined), { kind: 'none' });
  assert.deepEqual(parseBasicAuthorization('  '), { kind: 'none' });
});

test('user and password split at the first colon; the password may contain colons and UTF-8', () => {
  assert.deepEqual(parseBasicAuthorization(basic('alice:pa:ss wörd')), {
    kind: 'basic',
    credentials: { username: 'alice', password: 'pa:ss wörd' },
  });
  assert.deepEqual(parseBasicAuthorization(`bAsIc ${Buffer.from('bob:').toString('base64')}`), {
    kind: 'basic',
    credentials: { username: 'bob', password: '' },
  });
});

test('empty user and password (what containers/image sends without credentials) is anonymous', () => {
  assert.deepEqual(parseBasicAuthorization('Basic Og=='), { kind: 'none' });
  assert.equal(parseBasicAuthorization(basic(':secret')).kind, 'malformed');
});

test('other schemes, bad base64, missing colon, empty user and control characters are malformed', () => {
  for (const header of [
    'Bearer abc.def',
    'Basic',
    'Basic !!!notbase64',
    basic('nocolon'),
    basic(':password'),
    basic('ali\u0000ce:pw'),
    basic('alice\n:pw'),
    `Basic ${'A'.repeat(9000)}`,
  ]) {
    assert.equal(parseBasicAuthorization(header).kind, 'malformed', header.slice(0, 40));
  }
});
