/**
 * The password hash formats `htpasswd` writes, and constant-time verification of each:
 * bcrypt (`-B`: $2y$, also $2a$/$2b$), Apache MD5 (`-m`, the default: $apr1$) and SHA-1 (`-s`: {SHA}),
 * plus the SHA-crypt hashes zot accepts (`$5$` SHA-256 and `$6$` SHA-512, as `openssl passwd -5/-6`
 * and `mkpasswd` write them, with an optional `rounds=`). Plaintext, DES and MD5 crypt(3) entries are
 * refused when the file is read.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import bcrypt from 'bcryptjs';
import { encrypt as shaCrypt } from 'unixcrypt';

// apache-md5 is CommonJS whose typings declare an ES default export: load it through require.
const aprMd5 = createRequire(import.meta.url)('apache-md5') as (password: string, salt: string) => string;

export type HashKind = 'bcrypt' | 'apr1' | 'sha1' | 'sha256crypt' | 'sha512crypt';

export interface PasswordHash {
  readonly kind: HashKind;
  readonly value: string;
}

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const APR1 = /^\$apr1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;
// $5$ / $6$ [rounds=N$] salt (up to 16 characters) $ hash (43 / 86 characters of crypt's base64).
const SHA_CRYPT = /^\$([56])\$(?:rounds=(\d{1,9})\$)?[^$:\n]{0,16}\$[./A-Za-z0-9]+$/;
const SHA_CRYPT_LENGTH = { '5': 43, '6': 86 } as const;
// glibc's bounds; more rounds than this would let one login burn minutes of CPU.
const MAX_ROUNDS = 999_999_999;

/** Recognises a hash field; undefined for plaintext, crypt(3) and anything else unsafe or unknown. */
export function classifyHash(value: string): PasswordHash | undefined {
  if (BCRYPT.test(value)) return { kind: 'bcrypt', value };
  if (APR1.test(value)) return { kind: 'apr1', value };
  if (SHA1.test(value)) return { kind: 'sha1', value };
  const sha = SHA_CRYPT.exec(value);
  if (sha) {
    const variant = sha[1] as '5' | '6';
    const rounds = sha[2] === undefined ? 5000 : Number(sha[2]);
    if (value.slice(value.lastIndexOf('$') + 1).length !== SHA_CRYPT_LENGTH[variant] || rounds > MAX_ROUNDS) return undefined;
    return { kind: variant === '5' ? 'sha256crypt' : 'sha512crypt', value };
  }
  return undefined;
}

/** Equal-length comparison in constant time; different lengths compare a buffer with itself. */
function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

export async function verifyPassword(password: string, hash: PasswordHash): Promise<boolean> {
  switch (hash.kind) {
    case 'bcrypt':
      // bcryptjs compares the computed and stored hashes in constant time and understands $2y$.
      return bcrypt.compare(password, hash.value);
    case 'apr1':
      return constantTimeEqual(aprMd5(password, hash.value), hash.value);
    case 'sha1':
      return constantTimeEqual(`{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`, hash.value);
    case 'sha256crypt':
    case 'sha512crypt':
      // unixcrypt re-derives the hash with the stored salt and rounds; the comparison is ours, in constant time.
      return constantTimeEqual(shaCrypt(password, hash.value.slice(0, hash.value.lastIndexOf('$'))), hash.value);
  }
}

/** The cost of a bcrypt hash (`$2y$05$...` -> 5). */
export function bcryptCost(hash: PasswordHash): number | undefined {
  return hash.kind === 'bcrypt' ? Number(hash.value.slice(4, 6)) : undefined;
}

// Unknown users are checked against a bcrypt hash of a random secret nobody knows, at the cost the
// file's own hashes use: that costs the same time as a known user, so timing does not reveal names.
const dummyHashes = new Map<number, PasswordHash>();

export async function verifyAgainstDummy(password: string, cost = 5): Promise<void> {
  let dummy = dummyHashes.get(cost);
  if (!dummy) {
    dummy = { kind: 'bcrypt', value: await bcrypt.hash(randomBytes(18).toString('base64'), cost) };
    dummyHashes.set(cost, dummy);
  }
  await verifyPassword(password, dummy);
}
