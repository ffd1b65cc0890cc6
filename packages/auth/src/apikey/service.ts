/**
 * zot's API keys (`http.auth.apikey: true`): a logged-in user makes keys (`zak_` + 128 random
 * bits, shown once), lists them and revokes them; a key then works as the password of Basic
 * authentication for its owner, limited to its scopes (repository globs) when it has any.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Action, CredentialAccess, Identity, Logger } from '@zotjs/core';
import { globToRegExp } from '@zotjs/core';
import type { ApiKeyRecord, ApiKeyStore } from './store.js';

export const API_KEY_PREFIX = 'zak_';
/** zot's zero time, which its API answers for "never". */
const ZERO_TIME = '0001-01-01T00:00:00Z';
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
/** lastUsed is written at most this often per key (a write per pull would cost more than the pull). */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiKeyRequest {
  label?: unknown;
  scopes?: unknown;
  expirationDate?: unknown;
}

/** The details zot answers for a key (never its hash, never the key after creation). */
export interface ApiKeyDetails {
  createdAt: string;
  expirationDate: string;
  isExpired: boolean;
  creatorUa: string;
  generatedBy: string;
  lastUsed: string;
  label: string;
  scopes: string[] | null;
  uuid: string;
}

/** A request to make a key that cannot be honoured: answered 400 with this message. */
export class ApiKeyRequestError extends Error {}

export interface ApiKeyServiceOptions {
  store: ApiKeyStore;
  logger?: Logger;
  now?: () => number;
}

export type ApiKeyCheck =
  | { ok: true; identity: Identity & { apiKeyId: string } }
  | { ok: false; reason: 'unknown-key' | 'wrong-user' | 'expired' };

export function hashApiKey(key: string): string {
  return createHash('sha256')
    .update(key.startsWith(API_KEY_PREFIX) ? key.slice(API_KEY_PREFIX.length) : key)
    .digest('hex');
}

export class ApiKeyService {
  private readonly now: () => number;

  constructor(private readonly options: ApiKeyServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  async create(owner: Identity, request: ApiKeyRequest, userAgent: string): Promise<ApiKeyDetails & { apiKey: string }> {
    const label = request.label ?? '';
    if (typeof label !== 'string' || label.length > 256) throw new ApiKeyRequestError('label must be a string of at most 256 characters');
    let scopes: string[] | null = null;
    if (request.scopes !== undefined && request.scopes !== null) {
      if (
        !Array.isArray(request.scopes) ||
        !request.scopes.every((s) => typeof s === 'string' && s !== '') ||
        request.scopes.length > 100
      ) {
        throw new ApiKeyRequestError('scopes must be a list of repository names or globs');
      }
      for (const scope of request.scopes as string[]) {
        try {
          globToRegExp(scope);
        } catch (err) {
          throw new ApiKeyRequestError(`scope ${JSON.stringify(scope)}: ${(err as Error).message}`);
        }
      }
      scopes = request.scopes.length > 0 ? [...(request.scopes as string[])] : null;
    }
    let expirationDate: string | null = null;
    if (request.expirationDate !== undefined && request.expirationDate !== '' && request.expirationDate !== null) {
      if (
        typeof request.expirationDate !== 'string' ||
        !RFC3339.test(request.expirationDate) ||
        Number.isNaN(Date.parse(request.expirationDate))
      ) {
        throw new ApiKeyRequestError('expirationDate must be an RFC 3339 date-time, e.g. 2030-01-02T15:04:05Z');
      }
      if (Date.parse(request.expirationDate) <= this.now()) throw new ApiKeyRequestError('expirationDate is in the past');
      expirationDate = request.expirationDate;
    }
    const key = `${API_KEY_PREFIX}${randomBytes(16).toString('hex')}`;
    const record: ApiKeyRecord = {
      uuid: randomUUID(),
      hash: hashApiKey(key),
      username: owner.username,
      groups: [...owner.groups],
      label,
      scopes,
      createdAt: new Date(this.now()).toISOString(),
      expirationDate,
      lastUsed: null,
      creatorUa: userAgent.slice(0, 512),
      generatedBy: 'manual',
    };
    await this.options.store.add(record);
    this.options.logger?.info({ username: owner.username, keyId: record.uuid, label }, 'API key created');
    return { ...this.details(record), apiKey: key };
  }

  async list(owner: Identity): Promise<ApiKeyDetails[]> {
    const records = await this.options.store.list(owner.username);
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map((r) => this.details(r));
  }

  async revoke(owner: Identity, uuid: string): Promise<boolean> {
    const removed = await this.options.store.remove(owner.username, uuid);
    if (removed) this.options.logger?.info({ username: owner.username, keyId: uuid }, 'API key revoked');
    return removed;
  }

  /** Checks a key presented as `username`'s password. */
  async check(username: string, key: string): Promise<ApiKeyCheck> {
    const record = await this.options.store.byHash(hashApiKey(key));
    if (!record) return { ok: false, reason: 'unknown-key' };
    if (record.username !== username) return { ok: false, reason: 'wrong-user' };
    if (this.expired(record)) return { ok: false, reason: 'expired' };
    if (!record.lastUsed || this.now() - Date.parse(record.lastUsed) > LAST_USED_RESOLUTION_MS) {
      this.options.store.setLastUsed(record.uuid, new Date(this.now()).toISOString()).catch((err: unknown) => {
        this.options.logger?.warn({ keyId: record.uuid, err: { message: (err as Error).message } }, 'could not record the API key use');
      });
    }
    const identity: Identity & { apiKeyId: string } = {
      username: record.username,
      groups: record.groups,
      method: 'apikey',
      apiKeyId: record.uuid,
      ...(record.scopes ? { access: new ApiKeyScopes(record.scopes) } : {}),
    };
    return { ok: true, identity };
  }

  /** Whether a key still exists and has not expired (its refresh tokens stop when it does not). */
  async isValid(uuid: string): Promise<boolean> {
    const record = await this.options.store.byId(uuid);
    return record !== undefined && !this.expired(record);
  }

  private expired(record: ApiKeyRecord): boolean {
    return record.expirationDate !== null && Date.parse(record.expirationDate) <= this.now();
  }

  private details(record: ApiKeyRecord): ApiKeyDetails {
    return {
      createdAt: record.createdAt,
      expirationDate: record.expirationDate ?? ZERO_TIME,
      isExpired: this.expired(record),
      creatorUa: record.creatorUa,
      generatedBy: record.generatedBy,
      lastUsed: record.lastUsed ?? ZERO_TIME,
      label: record.label,
      scopes: record.scopes,
      uuid: record.uuid,
    };
  }
}

/** A scoped key: only the repositories its globs match, and there only what the owner's policy allows. */
export class ApiKeyScopes implements CredentialAccess {
  readonly mode = 'narrows-policy' as const;
  private readonly patterns: RegExp[];

  constructor(scopes: readonly string[]) {
    this.patterns = scopes.map((s) => globToRegExp(s.toLowerCase()));
  }

  allows(repository: string, _action: Action): boolean {
    return this.patterns.some((p) => p.test(repository));
  }
}
