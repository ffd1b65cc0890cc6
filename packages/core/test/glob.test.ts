/**
 * The one repository-glob dialect (zot's doublestar), used by auth's accessControl and gc's
 * retention policies. auth's own glob tests (packages/auth/test/glob.test.ts) run against it too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globSyntaxProblem, globToRegExp, GlobSyntaxError, matchesGlob } from '../src/glob.js';

test('** spans segments; team/** is team and everything below it', () => {
  for (const name of ['a', 'team', 'team/app', 'a/b/c/d']) assert.ok(matchesGlob('**', name), name);
  for (const name of ['team', 'team/app', 'team/a/b']) assert.ok(matchesGlob('team/**', name), name);
  assert.ok(!matchesGlob('team/**', 'teams'));
  assert.ok(matchesGlob('**/app', 'app'));
  assert.ok(matchesGlob('a/**/z', 'a/z'));
});

test('* and ? stay within one segment', () => {
  assert.ok(matchesGlob('team/*', 'team/app'));
  assert.ok(!matchesGlob('team/*', 'team/app/sub'));
  assert.ok(!matchesGlob('?', 'ab'));
  assert.ok(!matchesGlob('a?c', 'a/c'));
});

test('classes and alternatives (which the old gc matcher took literally)', () => {
  assert.ok(matchesGlob('v[0-9]/app', 'v1/app'));
  assert.ok(matchesGlob('v[!0-9]', 'vx'));
  assert.ok(!matchesGlob('v[!0-9]', 'v1'));
  assert.ok(matchesGlob('{dev,prod}/**', 'prod/a/b'));
  assert.ok(matchesGlob('{dev,{qa,prod}}/app', 'qa/app'));
  assert.ok(!matchesGlob('{dev,prod}/**', 'test/a'));
});

test('regular-expression characters are literal', () => {
  for (const [pattern, name] of [
    ['a.b', 'a.b'],
    ['a+b', 'a+b'],
    ['(a)', '(a)'],
    ['a|b', 'a|b'],
    ['!x', '!x'],
    ['a$', 'a$'],
  ] as const) {
    assert.ok(matchesGlob(pattern, name), pattern);
  }
  assert.ok(!matchesGlob('a.b', 'axb'));
  assert.ok(!matchesGlob('(a|b)', 'a'));
  assert.ok(!matchesGlob('+(a)', 'aa'), 'no extglobs');
});

test('malformed globs are refused with the reason', () => {
  const cases: Array<[string, string]> = [
    ['team/[abc', 'unclosed ['],
    ['[]', 'unclosed ['],
    ['{a,b', 'unclosed {'],
    ['a}', 'unbalanced }'],
    ['a]', 'unbalanced ]'],
    ['a\\', 'trailing backslash'],
  ];
  for (const [pattern, reason] of cases) {
    assert.throws(
      () => globToRegExp(pattern),
      (err: unknown) => err instanceof GlobSyntaxError && err.reason === reason && err.message.includes(pattern),
      pattern,
    );
    assert.throws(() => matchesGlob(pattern, 'x'), GlobSyntaxError);
    assert.equal(globSyntaxProblem(pattern), reason);
  }
  assert.equal(globSyntaxProblem('team/**'), undefined);
  assert.ok(matchesGlob('x[]]', 'x]'), '] first in a class is a member');
});
