/**
 * Cookie values protected with the keys of zot's `sessionKeysFile` (`{"hashKey": ..., "encryptKey": ...}`):
 * `hashKey` authenticates every value (HMAC-SHA256), `encryptKey` (16, 24 or 32 bytes: AES-128/192/256)
 * also encrypts it (GCM). Without a file zot-cli keeps a random hashKey in the session store
 * (see token-auth.ts), so workers and replicas share it. Values carry their own expiry.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface SessionKeys {
  hashKey: Buffer;
  encryptKey?: Buffer;
}

/** Reads zot's sessionKeysFile; the error names the file and the key, never its value. */
export async function readSessionKeysFile(path: string): Promise<SessionKeys> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    const why = (err as { code?: string }).code ?? (err instanceof SyntaxError ? 'not valid JSON' : 'unreadable');
    throw new Error(`cannot read the session keys file ${path} (${why})`);
  }
  const entries = Object.entries(typeof parsed === 'object' && parsed !== null ? parsed : {});
  const get = (name: string): string | undefined => {
    const value = entries.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const hashKey = get('hashKey');
  const encryptKey = get('encryptKey');
  if (!hashKey) throw new Error(`the session keys file ${path} has no hashKey`);
  if (encryptKey !== undefined && ![16, 24, 32].includes(Buffer.byteLength(encryptKey))) {
    throw new Error(`the session keys file ${path}: encryptKey must be 16, 24 or 32 bytes long (AES-128, -192 or -256)`);
  }
  return { hashKey: Buffer.from(hashKey), ...(encryptKey !== undefined ? { encryptKey: Buffer.from(encryptKey) } : {}) };
}

export function randomSessionKeys(): SessionKeys {
  return { hashKey: randomBytes(32) };
}

export class CookieSealer {
  private readonly macKey: Buffer;
  /** Always available: values that must stay secret (an OIDC login's PKCE verifier) are encrypted even without an encryptKey. */
  private readonly privateKey: Buffer;
  private readonly encryptKey: Buffer | undefined;

  constructor(keys: SessionKeys) {
    this.macKey = keys.hashKey;
    this.encryptKey = keys.encryptKey;
    this.privateKey = keys.encryptKey ?? Buffer.from(hkdfSync('sha256', keys.hashKey, Buffer.alloc(0), 'zot-ts cookie encryption', 32));
  }

  /** `value` sealed for a cookie: authenticated, and encrypted when an encryptKey is set or `secret` is asked. */
  seal(value: unknown, expiresAt: number, options: { secret?: boolean } = {}): string {
    const plain = Buffer.from(JSON.stringify({ v: value, e: expiresAt }));
    const key = options.secret ? this.privateKey : this.encryptKey;
    let body: string;
    if (key) {
      const iv = randomBytes(12);
      const cipher = createCipheriv(cipherFor(key), key, iv);
      const encrypted = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      body = `e.${Buffer.concat([iv, encrypted]).toString('base64url')}`;
    } else {
      body = `p.${plain.toString('base64url')}`;
    }
    return `${body}.${this.mac(body)}`;
  }

  /** The value, or undefined when tampered with, made with other keys, malformed or expired. */
  unseal(sealed: string | undefined, now = Date.now()): unknown {
    if (!sealed) return undefined;
    const last = sealed.lastIndexOf('.');
    if (last <= 0) return undefined;
    const body = sealed.slice(0, last);
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(sealed.slice(last + 1));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let plain: Buffer;
    try {
      const [kind, data] = [body.slice(0, 1), Buffer.from(body.slice(2), 'base64url')];
      if (kind === 'p') plain = data;
      else if (kind === 'e') plain = this.decrypt(data);
      else return undefined;
      const parsed = JSON.parse(plain.toString('utf8')) as { v: unknown; e: number };
      return typeof parsed.e === 'number' && parsed.e > now ? parsed.v : undefined;
    } catch {
      return undefined;
    }
  }

  private decrypt(data: Buffer): Buffer {
    const iv = data.subarray(0, 12);
    const tag = data.subarray(data.length - 16);
    const encrypted = data.subarray(12, data.length - 16);
    // The secret key first (login states), then the configured one (sessions).
    for (const key of [this.privateKey, this.encryptKey]) {
      if (!key) continue;
      try {
        const decipher = createDecipheriv(cipherFor(key), key, iv);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(encrypted), decipher.final()]);
      } catch {
        // try the next key
      }
    }
    throw new Error('undecryptable');
  }

  private mac(body: string): string {
    return createHmac('sha256', this.macKey).update(body).digest('base64url');
  }
}

function cipherFor(key: Buffer): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  return key.length === 16 ? 'aes-128-gcm' : key.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm';
}

/** A cookie's value from a `Cookie` request header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CookieAttributes {
  path: string;
  maxAgeSeconds: number;
  secure: boolean;
  sameSite: 'Lax' | 'Strict';
}

export function setCookie(name: string, value: string, attributes: CookieAttributes): string {
  return `${name}=${value}; Path=${attributes.path}; Max-Age=${attributes.maxAgeSeconds}; HttpOnly; SameSite=${attributes.sameSite}${attributes.secure ? '; Secure' : ''}`;
}
