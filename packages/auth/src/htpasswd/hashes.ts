/**
 * The password hash formats `htpasswd` writes, and constant-time verification of each:
 * bcrypt (`-B`: $2y$, also $2a$/$2b$), Apache MD5 (`-m`, the default: $apr1$) and SHA-1 (`-s`: {SHA}).
 * Plaintext and crypt(3) entries are refused when the file is read.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import bcrypt from 'bcryptjs';

// apache-md5 is CommonJS whose typings declare an ES default export: load it through require.
const aprMd5 = createRequire(import.meta.url)('apache-md5') as (password: string, salt: string) => string;

export type HashKind = 'bcrypt' | 'apr1' | 'sha1';

export interface PasswordHash {
  readonly kind: HashKind;
  readonly value: string;
}

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const APR1 = /^\$apr1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;

/** Recognises a hash field; undefined for plaintext, crypt(3) and anything else unsafe or unknown. */
export function classifyHash(value: string): PasswordHash | undefined {
  if (BCRYPT.test(value)) return { kind: 'bcrypt', value };
  if (APR1.test(value)) return { kind: 'apr1', value };
  if (SHA1.test(value)) return { kind: 'sha1', value };
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
