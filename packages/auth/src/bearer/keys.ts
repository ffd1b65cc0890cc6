/**
 * Public keys that verify bearer tokens, and the key ids tokens name them by. `PublicKeyFile`
 * is zot's `http.auth.bearer.cert`: a PEM file of certificates and/or public keys, re-read when
 * it changes so the token service's key can rotate without a restart.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import type { Logger } from '@zotjs/core';

/** A verification key and the ids a token header may name it by. */
export interface VerificationKey {
  readonly key: KeyObject;
  /** RFC 7638 JWK thumbprint and distribution's libtrust key id. */
  readonly ids: readonly string[];
}

/** Where a verifier gets its keys. */
export interface VerificationKeySource {
  /** The current keys (re-read if their source changed). */
  keys(): Promise<readonly VerificationKey[]>;
  /** Changes whenever the set of keys changes: cached verifications made under another version are dropped. */
  version(): number;
}

/** The ids a key is known by: its JWK thumbprint and its libtrust id (what distribution's token server puts in `kid`). */
export async function keyIds(key: KeyObject): Promise<string[]> {
  const jwk = await exportJWK(key);
  return [await calculateJwkThumbprint(jwk), libtrustKeyId(key)];
}

/** distribution/libtrust: base32 of the first 240 bits of SHA-256(SPKI DER), in 12 groups of 4. */
export function libtrustKeyId(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  const digest = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

/** Every public key in a PEM text: certificates (their subject key), public keys, RSA public keys. */
export function publicKeysFromPem(pem: string, source: string): KeyObject[] {
  const blocks = pem.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g) ?? [];
  const keys: KeyObject[] = [];
  for (const block of blocks) {
    const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(block)![1];
    if (label === 'CERTIFICATE') keys.push(new X509Certificate(block).publicKey);
    else if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY') keys.push(createPublicKey(block));
  }
  if (keys.length === 0) throw new Error(`${source} holds no PEM certificate or public key`);
  return keys;
}

export interface PublicKeyFileOptions {
  /** How often the file is checked for changes, at most (default 1000 ms; 0: on every use). */
  checkIntervalMs?: number;
  logger?: Logger;
  now?: () => number;
}

export class PublicKeyFile implements VerificationKeySource {
  private current: readonly VerificationKey[] = [];
  private signature = '';
  private generation = 0;
  private lastCheck = 0;
  private checking: Promise<void> | undefined;
  private readonly checkIntervalMs: number;
  private readonly now: () => number;

  private constructor(
    readonly path: string,
    private readonly options: PublicKeyFileOptions,
  ) {
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Reads the file; throws (naming the file) when it is missing or holds no key. */
  static async open(path: string, options: PublicKeyFileOptions = {}): Promise<PublicKeyFile> {
    const file = new PublicKeyFile(path, options);
    await file.load(true);
    return file;
  }

  version(): number {
    return this.generation;
  }

  async keys(): Promise<readonly VerificationKey[]> {
    if (this.now() - this.lastCheck >= this.checkIntervalMs) {
      this.checking ??= this.load(false).finally(() => (this.checking = undefined));
      await this.checking;
    }
    return this.current;
  }

  private async load(initial: boolean): Promise<void> {
    this.lastCheck = this.now();
    try {
      const info = await stat(this.path);
      const signature = `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
      if (signature === this.signature) return;
      const keys = publicKeysFromPem(await readFile(this.path, 'utf8'), this.path);
      this.current = await Promise.all(keys.map(async (key) => ({ key, ids: await keyIds(key) })));
      this.signature = signature;
      this.generation += 1;
      if (!initial) this.options.logger?.info({ path: this.path, keys: keys.length }, 'bearer verification keys reloaded');
    } catch (err) {
      if (initial) throw new Error(`cannot read the bearer token key file ${this.path}: ${(err as Error).message}`);
      // A botched rotation keeps the keys in use rather than refusing every token.
      this.options.logger?.error(
        { path: this.path, err: { message: (err as Error).message } },
        'bearer key file reload failed; keeping the current keys',
      );
    }
  }
}

/** Several key sources as one (the token service's own keys beside an external service's certificate). */
export class CombinedKeySource implements VerificationKeySource {
  constructor(private readonly sources: readonly VerificationKeySource[]) {}

  async keys(): Promise<readonly VerificationKey[]> {
    return (await Promise.all(this.sources.map((s) => s.keys()))).flat();
  }

  version(): number {
    return this.sources.reduce((sum, s) => sum * 1_000_003 + s.version(), 0);
  }
}
