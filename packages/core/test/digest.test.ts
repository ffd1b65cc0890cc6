import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { RegistryError, createDigester, digestOf, isDigestLike, parseDigest, tryParseDigest } from '../src/index.js';

const SHA256_HEX = createHash('sha256').update('hello').digest('hex');
const SHA512_HEX = createHash('sha512').update('hello').digest('hex');

describe('digest parsing', () => {
  it('accepts sha256 and sha512 with lowercase hex of the right length', () => {
    assert.deepEqual(tryParseDigest(`sha256:${SHA256_HEX}`), { algorithm: 'sha256', hex: SHA256_HEX, value: `sha256:${SHA256_HEX}` });
    assert.deepEqual(tryParseDigest(`sha512:${SHA512_HEX}`), { algorithm: 'sha512', hex: SHA512_HEX, value: `sha512:${SHA512_HEX}` });
  });

  it('refuses algorithms it cannot verify, even when the grammar allows them', () => {
    for (const text of [
      `md5:${'a'.repeat(32)}`,
      `sha1:${'a'.repeat(40)}`,
      `sha384:${'a'.repeat(96)}`,
      `blake3:${'a'.repeat(64)}`,
      `sha256+b64u:${'a'.repeat(64)}`,
      `SHA256:${SHA256_HEX}`,
      `sha512:${SHA256_HEX}`, // a sha256-length hex under sha512
    ]) {
      assert.equal(tryParseDigest(text), undefined, text);
    }
  });

  it('refuses wrong lengths, uppercase or non-hex encodings and broken syntax', () => {
    for (const text of [
      `sha256:${SHA256_HEX.slice(1)}`,
      `sha256:${SHA256_HEX}0`,
      `sha256:${SHA256_HEX.toUpperCase()}`,
      `sha256:${SHA256_HEX.slice(0, 63)}A`,
      `sha256:${SHA256_HEX.slice(0, 63)}g`,
      `sha512:${SHA512_HEX.slice(2)}`,
      `sha256:`,
      `:${SHA256_HEX}`,
      SHA256_HEX,
      `sha256::${SHA256_HEX}`,
      `sha256:${SHA256_HEX.slice(0, 32)}/${SHA256_HEX.slice(33)}`,
      `sha256:${SHA256_HEX} `,
      ` sha256:${SHA256_HEX}`,
      `sha256:${'a'.repeat(300)}`,
      '',
    ]) {
      assert.equal(tryParseDigest(text), undefined, JSON.stringify(text));
    }
  });

  it('parseDigest throws the spec DIGEST_INVALID (400), with a bounded message', () => {
    const long = `sha256:${'z'.repeat(10_000)}`;
    assert.throws(
      () => parseDigest(long),
      (err: unknown) => err instanceof RegistryError && err.code === 'DIGEST_INVALID' && err.status === 400 && err.message.length < 200,
    );
    assert.equal(parseDigest(`sha256:${SHA256_HEX}`).algorithm, 'sha256');
  });

  it('digestOf and createDigester agree with node:crypto', () => {
    const data = Buffer.from('hello');
    assert.equal(digestOf('sha256', data).value, `sha256:${SHA256_HEX}`);
    assert.equal(digestOf('sha512', data).value, `sha512:${SHA512_HEX}`);
    assert.equal(createDigester('sha512').update(data).digest('hex'), SHA512_HEX);
    assert.equal(digestOf('sha256', new Uint8Array()).value, 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('isDigestLike tells references that are meant as digests from tags', () => {
    assert.equal(isDigestLike(`sha256:${SHA256_HEX}`), true);
    assert.equal(isDigestLike('sha256:nothex'), true);
    assert.equal(isDigestLike('latest'), false);
  });
});
