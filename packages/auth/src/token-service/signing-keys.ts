/**
 * The token service's signing keys: a PEM private key file, or a folder of them. The newest file
 * signs; every key in the set verifies, so adding a key file rotates without a restart while
 * tokens signed by the previous key keep verifying until they expire (remove the old file after
 * the longest token lifetime; removing it revokes its tokens at once). Each token names its key
 * in `kid` (distribution's libtrust id, which its registries match against their certificates).
 */
import { createPublicKey, createPrivateKey, type KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@zotjs/core';
import { keyIds, type VerificationKey, type VerificationKeySource } from '../bearer/keys.js';

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly alg: string;
  readonly kid: string;
  readonly file: string;
}

export interface SigningKeySetOptions {
  /** How often the path is checked for new or changed files, at most (default 1000 ms). */
  checkIntervalMs?: number;
  logger?: Logger;
  now?: () => number;
}

const KEY_FILE = /\.(pem|key)$/;

/** The JWS algorithm for a key: RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519. */
export function algorithmFor(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return 'ES256';
      if (curve === 'secp384r1') return 'ES384';
      if (curve === 'secp521r1') return 'ES512';
      throw new Error(`EC curve ${String(curve)} is not supported (use P-256, P-384 or P-521)`);
    }
    case 'ed25519':
      return 'EdDSA';
    default:
      throw new Error(`${String(key.asymmetricKeyType)} keys are not supported (use RSA, EC or Ed25519)`);
  }
}

export class SigningKeySet implements VerificationKeySource {
  private entries: SigningKey[] = [];
  private verification: VerificationKey[] = [];
  private signature = '';
  private generation = 0;
  private lastCheck = 0;
  private checking: Promise<void> | undefined;
  private readonly checkIntervalMs: number;
  private readonly now: () => number;

  private constructor(
    readonly path: string,
    private readonly options: SigningKeySetOptions,
  ) {
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  static async open(path: string, options: SigningKeySetOptions = {}): Promise<SigningKeySet> {
    const set = new SigningKeySet(path, options);
    await set.load(true);
    return set;
  }

  /** The key new tokens are signed with (the newest file). */
  async signingKey(): Promise<SigningKey> {
    await this.refresh();
    return this.entries[0]!;
  }

  async keys(): Promise<readonly VerificationKey[]> {
    await this.refresh();
    return this.verification;
  }

  version(): number {
    return this.generation;
  }

  private async refresh(): Promise<void> {
    if (this.now() - this.lastCheck < this.checkIntervalMs) return;
    this.checking ??= this.load(false).finally(() => (this.checking = undefined));
    await this.checking;
  }

  private async load(initial: boolean): Promise<void> {
    this.lastCheck = this.now();
    try {
      const files = await this.keyFiles();
      const stats = await Promise.all(files.map(async (file) => ({ file, info: await stat(file) })));
      const signature = stats.map(({ file, info }) => `${file}:${info.ino}:${info.size}:${info.mtimeMs}`).join('|');
      if (signature === this.signature) return;
      // Newest first (ties by name, later names first), so a freshly added file signs.
      stats.sort((a, b) => b.info.mtimeMs - a.info.mtimeMs || b.file.localeCompare(a.file));
      const entries: SigningKey[] = [];
      for (const { file } of stats) {
        const privateKey = createPrivateKey(await readFile(file, 'utf8'));
        const publicKey = createPublicKey(privateKey);
        const ids = await keyIds(publicKey);
        entries.push({ privateKey, publicKey, alg: algorithmFor(privateKey), kid: ids[1]!, file });
      }
      if (entries.length === 0) throw new Error('no private key file (*.pem, *.key) found');
      this.entries = entries;
      this.verification = await Promise.all(entries.map(async (e) => ({ key: e.publicKey, ids: await keyIds(e.publicKey) })));
      this.signature = signature;
      this.generation += 1;
      if (!initial)
        this.options.logger?.info({ path: this.path, keys: entries.length, signingKey: entries[0]!.kid }, 'token signing keys reloaded');
    } catch (err) {
      if (initial) throw new Error(`cannot load token signing keys from ${this.path}: ${(err as Error).message}`);
      this.options.logger?.error(
        { path: this.path, err: { message: (err as Error).message } },
        'token signing key reload failed; keeping the current keys',
      );
    }
  }

  private async keyFiles(): Promise<string[]> {
    const info = await stat(this.path);
    if (!info.isDirectory()) return [this.path];
    const names = await readdir(this.path);
    return names.filter((n) => KEY_FILE.test(n)).map((n) => join(this.path, n));
  }
}
