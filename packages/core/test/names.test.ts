import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_NAME_LENGTH,
  RegistryError,
  assertRepositoryName,
  assertTag,
  isValidRepositoryName,
  isValidTag,
  isValidUploadId,
} from '../src/index.js';

describe('repository names (spec grammar)', () => {
  it('accepts the grammar, including nested names and every separator', () => {
    for (const name of ['a', 'library/ubuntu', 'a/b/c/d/e', 'my-app', 'my--app', 'my.app', 'my_app', 'my__app', 'a0/1b/c-2.d_e__f', '0']) {
      assert.equal(isValidRepositoryName(name), true, name);
    }
  });

  it('refuses what the grammar does not allow', () => {
    for (const name of [
      '',
      'A',
      'Library/ubuntu',
      '-a',
      'a-',
      '.a',
      'a.',
      '_a',
      'a_',
      'a___b',
      'a..b',
      'a._b',
      'a/',
      '/a',
      'a//b',
      'a b',
      'a:b',
      'a@b',
    ]) {
      assert.equal(isValidRepositoryName(name), false, JSON.stringify(name));
    }
  });

  it('refuses traversal strings in any spelling', () => {
    for (const name of [
      '..',
      '.',
      '../a',
      'a/..',
      'a/../b',
      'a/./b',
      '%2e%2e',
      'a/%2e%2e/b',
      '%2E%2E',
      'a%2fb',
      'a\\b',
      '..\\a',
      'a/\u0000',
    ]) {
      assert.equal(isValidRepositoryName(name), false, JSON.stringify(name));
    }
  });

  it('limits names to 255 characters', () => {
    assert.equal(MAX_NAME_LENGTH, 255);
    assert.equal(isValidRepositoryName('a'.repeat(255)), true);
    assert.equal(isValidRepositoryName('a'.repeat(256)), false);
    assert.equal(isValidRepositoryName(`${'a/'.repeat(127)}a`), true, '255 characters with separators');
    assert.equal(isValidRepositoryName(`${'a/'.repeat(128)}a`), false);
  });

  it('assertRepositoryName throws NAME_INVALID (400) with a bounded detail', () => {
    assert.throws(
      () => assertRepositoryName('x'.repeat(100_000)),
      (err: unknown) =>
        err instanceof RegistryError && err.code === 'NAME_INVALID' && err.status === 400 && JSON.stringify(err.detail).length < 400,
    );
    assert.doesNotThrow(() => assertRepositoryName('ok/name'));
  });
});

describe('tags (spec grammar)', () => {
  it('accepts the grammar up to 128 characters', () => {
    for (const tag of ['latest', 'v1.0.0', 'V1', '_private', '1', 'a-b_c.d', 'sha256-abc', 'a'.repeat(128), `_${'-'.repeat(127)}`]) {
      assert.equal(isValidTag(tag), true, tag);
    }
  });

  it('refuses longer, empty, dotted or dashed starts and other characters', () => {
    for (const tag of ['', 'a'.repeat(129), '.hidden', '-dash', '..', '%2e%2e', 'a/b', 'a:b', 'a b', 'a+b', 'tag\n', 'é']) {
      assert.equal(isValidTag(tag), false, JSON.stringify(tag));
    }
  });

  it('assertTag throws TAG_INVALID (400)', () => {
    assert.throws(
      () => assertTag('..'),
      (err: unknown) => err instanceof RegistryError && err.code === 'TAG_INVALID' && err.status === 400,
    );
  });
});

describe('upload ids', () => {
  it('only lowercase UUIDs are session ids', () => {
    assert.equal(isValidUploadId('0f8fad5b-d9cb-469f-a165-70867728950e'), true);
    for (const id of ['0F8FAD5B-D9CB-469F-A165-70867728950E', '../x', '', '0f8fad5b-d9cb-469f-a165-70867728950', 'x'.repeat(36)]) {
      assert.equal(isValidUploadId(id), false, id);
    }
  });
});
