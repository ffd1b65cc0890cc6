/**
 * Short-lived memory of successful logins, so a pull of 20 layers does not run bcrypt (or an
 * LDAP bind) 20 times. Entries are keyed by an HMAC of the user name and password under a key
 * made at startup: the password itself is never stored, and the key cannot be precomputed.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Identity } from '@zotjs/core';

interface Entry {
  identity: Identity;
  expiresAt: number;
  /** The backend's data version when the login was verified. */
  version: number;
  backend: string;
}

export interface CredentialCacheOptions {
  /** Most entries kept (default 10000); the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

export class CredentialCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: CredentialCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  keyOf(username: string, password: string): string {
    // Length-prefixing keeps ("a:b", "c") and ("a", "b:c") apart.
    return createHmac('sha256', this.key).update(`${username.length}:${username}\u0000${password}`, 'utf8').digest('base64url');
  }

  /**
   * The cached identity, if the login is fresh and `currentVersion(backend)` still matches the
   * version it was verified under.
   */
  get(key: string, currentVersion: (backend: string) => number | undefined): { identity: Identity; backend: string } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now() || currentVersion(entry.backend) !== entry.version) {
      this.entries.delete(key);
      return undefined;
    }
    return { identity: entry.identity, backend: entry.backend };
  }

  set(key: string, identity: Identity, backend: string, version: number, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { identity, backend, version, expiresAt: this.now() + ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
