/**
 * The built-in token service (distribution's token.md and oauth.md, which zot leaves to an
 * external server): it grants each requested repository scope the actions the Authorizer
 * (accessControl) allows the caller, signs an access token for the registry, and for offline
 * requests a refresh token (a signed JWT of its own kind, bound to the subject and the service)
 * that later buys access tokens without the password.
 */
import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Action, Authorizer, Identity } from '@zotjs/core';
import { ASYMMETRIC_ALGORITHMS } from '../bearer/verifier.js';
import { formatScope, type AccessEntry, type ResourceScope } from '../bearer/scope.js';
import type { SigningKeySet } from './signing-keys.js';

export interface TokenServiceOptions {
  /** `iss` of every token (the registry's external URL is a good choice). */
  issuer: string;
  /** The audience (`aud`) tokens are issued for: the registry's `bearer.service`. */
  service: string;
  keys: SigningKeySet;
  /** accessControl; without it, as in zot, authenticated callers may do anything and anonymous ones nothing. */
  authorizer?: Authorizer;
  /** Access token lifetime in seconds (default 300; at least 60, as token.md asks). */
  accessTokenTtlSeconds?: number;
  /** Refresh token lifetime in seconds (default 30 days). */
  refreshTokenTtlSeconds?: number;
  /** Whether a refresh token's API key is still valid (revoked keys stop their refresh tokens at once). */
  apiKeyIsValid?: (keyId: string) => Promise<boolean>;
  now?: () => number;
}

export interface TokenRequest {
  /** The authenticated caller; undefined: anonymous. */
  identity?: Identity;
  scopes: readonly ResourceScope[];
  /** Also issue a refresh token. */
  offline?: boolean;
  clientId?: string;
  /** The API key the caller logged in with (its refresh tokens die with it). */
  apiKeyId?: string;
}

export interface TokenResponse {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  /** The granted scope, space separated (oauth.md requires it on the POST form). */
  scope: string;
  refresh_token?: string;
}

/** A refresh token that is not (or no longer) good: answered as an invalid grant. */
export class InvalidGrantError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidGrantError';
  }
}

const REFRESH_USE = 'refresh';

export class TokenService {
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  private readonly now: () => number;

  constructor(private readonly options: TokenServiceOptions) {
    this.accessTokenTtlSeconds = Math.max(60, options.accessTokenTtlSeconds ?? 300);
    this.refreshTokenTtlSeconds = options.refreshTokenTtlSeconds ?? 30 * 24 * 3600;
    this.now = options.now ?? Date.now;
  }

  get service(): string {
    return this.options.service;
  }

  get issuer(): string {
    return this.options.issuer;
  }

  /** Grants the intersection of the requested scopes and what the caller may do, and signs it. */
  async issue(request: TokenRequest): Promise<TokenResponse> {
    const access = await this.grant(request.identity, request.scopes);
    const key = await this.options.keys.signingKey();
    const issuedAt = Math.floor(this.now() / 1000);
    const token = await new SignJWT({
      access,
      // The caller's groups, so the registry's policy check sees the same groups (LDAP, OIDC) as this grant did.
      ...(request.identity && request.identity.groups.length > 0 ? { groups: [...request.identity.groups] } : {}),
    })
      .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid })
      .setIssuer(this.options.issuer)
      .setSubject(request.identity?.username ?? '')
      .setAudience(this.options.service)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + this.accessTokenTtlSeconds)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(key.privateKey);
    const response: TokenResponse = {
      token,
      access_token: token,
      expires_in: this.accessTokenTtlSeconds,
      issued_at: new Date(issuedAt * 1000).toISOString(),
      scope: access.map((a) => formatScope(a)).join(' '),
    };
    if (request.offline && request.identity) response.refresh_token = await this.refreshTokenFor(request.identity, request.apiKeyId);
    return response;
  }

  /** The identity a refresh token stands for; throws {@link InvalidGrantError} when it is not good for this service. */
  async redeem(refreshToken: string): Promise<{ identity: Identity; apiKeyId?: string }> {
    const keys = await this.options.keys.keys();
    for (const { key } of keys) {
      let payload;
      try {
        ({ payload } = await jwtVerify(refreshToken, key, {
          algorithms: [...ASYMMETRIC_ALGORITHMS],
          issuer: this.options.issuer,
          audience: this.options.service,
          requiredClaims: ['exp', 'sub'],
          currentDate: new Date(this.now()),
        }));
      } catch {
        continue;
      }
      if (payload['token_use'] !== REFRESH_USE || typeof payload.sub !== 'string' || payload.sub === '') break;
      const apiKeyId = typeof payload['akid'] === 'string' ? payload['akid'] : undefined;
      if (apiKeyId !== undefined && !(await this.options.apiKeyIsValid?.(apiKeyId)))
        throw new InvalidGrantError('the API key of this refresh token was revoked or expired');
      const groups = Array.isArray(payload['groups']) ? payload['groups'].filter((g): g is string => typeof g === 'string') : [];
      const method = typeof payload['amr'] === 'string' ? payload['amr'] : 'token';
      return { identity: { username: payload.sub, groups, method }, ...(apiKeyId !== undefined ? { apiKeyId } : {}) };
    }
    throw new InvalidGrantError('invalid or expired refresh token');
  }

  private async refreshTokenFor(identity: Identity, apiKeyId: string | undefined): Promise<string> {
    const key = await this.options.keys.signingKey();
    const issuedAt = Math.floor(this.now() / 1000);
    return new SignJWT({
      token_use: REFRESH_USE,
      groups: [...identity.groups],
      amr: identity.method,
      ...(apiKeyId !== undefined ? { akid: apiKeyId } : {}),
    })
      .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid })
      .setIssuer(this.options.issuer)
      .setSubject(identity.username)
      .setAudience(this.options.service)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.refreshTokenTtlSeconds)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(key.privateKey);
  }

  private async grant(identity: Identity | undefined, scopes: readonly ResourceScope[]): Promise<AccessEntry[]> {
    const granted = new Map<string, AccessEntry>();
    for (const scope of scopes) {
      let actions: string[] = [];
      if (scope.type === 'repository' && scope.name !== '') actions = await this.repositoryActions(identity, scope.name, scope.actions);
      else if (scope.type === 'registry' && scope.name === 'catalog' && scope.actions.includes('*'))
        actions = (await this.mayListCatalog(identity)) ? ['*'] : [];
      const key = `${scope.type}:${scope.name}`;
      const entry = granted.get(key) ?? { type: scope.type, name: scope.name, actions: [] };
      for (const action of actions) if (!entry.actions.includes(action)) entry.actions.push(action);
      granted.set(key, entry);
    }
    // An entry with no actions documents the refusal (distribution does the same).
    return [...granted.values()];
  }

  private async repositoryActions(identity: Identity | undefined, repository: string, requested: readonly string[]): Promise<string[]> {
    const may = (action: Action): boolean | Promise<boolean> =>
      this.options.authorizer ? this.options.authorizer.authorize(identity, repository, action) : identity !== undefined;
    const actions: string[] = [];
    for (const action of new Set(requested)) {
      let ok = false;
      if (action === 'pull') ok = await may('read');
      // Pushing creates blobs and tags and may move a tag: `create` or `update` lets it start;
      // the registry still asks the policy which of the two each request needs.
      else if (action === 'push') ok = (await may('create')) || (await may('update'));
      else if (action === 'delete') ok = await may('delete');
      if (ok) actions.push(action);
    }
    return actions;
  }

  private async mayListCatalog(identity: Identity | undefined): Promise<boolean> {
    if (identity) return true;
    return this.options.authorizer?.allowsAnonymousBase?.() ?? false;
  }
}
