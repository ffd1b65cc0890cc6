import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSeconds } from '../src/duration.js';

test('Go durations, in milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['500ms', 500],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['72h', 259_200_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['1h0m0.5s', 3_600_500],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['2000000ns', 2],
    [' 1m ', 60_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('not durations: no unit, unknown units, signs, junk', () => {
  for (const text of ['', '5', '1.5', '1d', '1 h', '-1s', '+1s', 'soon', 'h', '1hh', '1h-5m']) {
    assert.equal(parseDuration(text), undefined, JSON.stringify(text));
  }
  assert.equal(parseDuration(-1, { bareNumberUnit: 's' }), undefined);
  assert.equal(parseDuration(Number.NaN, { bareNumberUnit: 's' }), undefined);
  assert.equal(parseDuration(5), undefined, 'a number needs a unit to mean something');
  assert.equal(parseDuration(0), 0);
});

test('bare numbers take the unit the key means', () => {
  assert.equal(parseDuration('5', { bareNumberUnit: 's' }), 5000);
  assert.equal(parseDuration(2.5, { bareNumberUnit: 's' }), 2500);
  assert.equal(parseDuration('250', { bareNumberUnit: 'ms' }), 250);
  assert.equal(parseDuration('1m', { bareNumberUnit: 's' }), 60_000, 'units still win');
});

test("seconds, as zot's auth keys (failDelay, queryTimeout) take them", () => {
  assert.equal(parseSeconds(5), 5);
  assert.equal(parseSeconds('5'), 5);
  assert.equal(parseSeconds('1.5'), 1.5);
  assert.equal(parseSeconds('250ms'), 0.25);
  assert.equal(parseSeconds('1m30s'), 90);
  assert.ok(Number.isNaN(parseSeconds('soon')));
  assert.ok(Number.isNaN(parseSeconds('')));
  assert.ok(Number.isNaN(parseSeconds(-1)));
});
