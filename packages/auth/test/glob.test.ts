import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globToRegExp, GlobSyntaxError } from '@zotjs/core';

const matches = (pattern: string, name: string): boolean => globToRegExp(pattern).test(name);

test('** matches every repository, at any depth', () => {
  for (const name of ['a', 'team/app', 'a/b/c/d']) assert.ok(matches('**', name), name);
});

test('* stays within one path segment', () => {
  assert.ok(matches('team/*', 'team/app'));
  assert.ok(!matches('team/*', 'team/app/sub'));
  assert.ok(!matches('team/*', 'team'));
  assert.ok(!matches('team/*', 'other/app'));
  assert.ok(matches('*', 'alpine'));
  assert.ok(!matches('*', 'library/alpine'));
  assert.ok(matches('te*/a*p', 'team/app'));
});

test('team/** matches the repository itself and everything below it', () => {
  for (const name of ['team', 'team/app', 'team/a/b']) assert.ok(matches('team/**', name), name);
  assert.ok(!matches('team/**', 'teams/app'));
  assert.ok(!matches('team/**', 'other/team/app'));
});

test('**/ and /**/ span zero or more segments', () => {
  assert.ok(matches('**/app', 'app'));
  assert.ok(matches('**/app', 'x/y/app'));
  assert.ok(!matches('**/app', 'x/myapp'));
  assert.ok(matches('a/**/z', 'a/z'));
  assert.ok(matches('a/**/z', 'a/b/c/z'));
  assert.ok(!matches('a/**/z', 'a/bz'));
});

test('?, classes, alternatives and escapes', () => {
  assert.ok(matches('app?', 'app1'));
  assert.ok(!matches('app?', 'app'));
  assert.ok(!matches('a?b', 'a/b'));
  assert.ok(matches('v[0-9]', 'v7'));
  assert.ok(!matches('v[!0-9]', 'v7'));
  assert.ok(matches('v[!0-9]', 'vx'));
  assert.ok(matches('{dev,prod}/app', 'prod/app'));
  assert.ok(!matches('{dev,prod}/app', 'test/app'));
  assert.ok(matches('a.b', 'a.b'));
  assert.ok(!matches('a.b', 'axb'), 'dots are literal');
  assert.ok(matches('a\\*', 'a*'));
  assert.ok(!matches('a\\*', 'ab'));
});

test('malformed globs are reported', () => {
  for (const pattern of ['team/[abc', '{a,b', 'a\\', 'a}']) assert.throws(() => globToRegExp(pattern), GlobSyntaxError, pattern);
});
