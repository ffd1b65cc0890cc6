/**
 * Basic credentials whose password is an API key (`zak_...`) are checked against the key store
 * on every request (so revocation is immediate everywhere); any other password goes to the
 * password backends. Failed key attempts count toward the same per-user, per-address lock.
 */
import { RegistryError, type AuthRequest, type AuthResult, type Authenticator, type ChallengeContext, type Logger } from '@zotjs/core';
import { parseBasicAuthorization } from '../basic-auth.js';
import { FailureLimiter, normalizeAddress } from '../failure-limiter.js';
import { basicChallenge } from '../password-authenticator.js';
import { API_KEY_PREFIX, type ApiKeyService } from './service.js';

export interface ApiKeyAuthenticatorOptions {
  keys: ApiKeyService;
  /** Checks other passwords (htpasswd, LDAP); without it only API keys log in. */
  passwords?: Authenticator;
  /** Realm of the Basic challenge when there is no password authenticator. */
  realm: string;
  limiter?: FailureLimiter;
  logger?: Logger;
}

export class ApiKeyAuthenticator implements Authenticator {
  private readonly limiter: FailureLimiter;
  private readonly fallbackChallenge: string;

  constructor(private readonly options: ApiKeyAuthenticatorOptions) {
    this.limiter = options.limiter ?? new FailureLimiter();
    this.fallbackChallenge = basicChallenge(options.realm);
  }

  challenge(context?: ChallengeContext): string {
    return this.options.passwords?.challenge(context) ?? this.fallbackChallenge;
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const parsed = parseBasicAuthorization(request.headers['authorization']);
    if (parsed.kind !== 'basic' || !parsed.credentials.password.startsWith(API_KEY_PREFIX)) {
      if (this.options.passwords) return this.options.passwords.authenticate(request);
      if (parsed.kind === 'none') return { kind: 'anonymous' };
      return { kind: 'rejected', reason: parsed.kind === 'malformed' ? parsed.reason : 'not an API key' };
    }
    const { username, password } = parsed.credentials;
    const address = normalizeAddress(request.remoteAddress);
    const permit = this.limiter.check(address, username);
    if (!permit.allowed) {
      throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins for this user from this address: retry later', {
        headers: { 'Retry-After': String(Math.max(1, Math.ceil(permit.retryAfterMs / 1000))) },
      });
    }
    const result = await this.options.keys.check(username, password);
    if (result.ok) {
      this.limiter.onSuccess(address, username);
      return { kind: 'authenticated', identity: result.identity };
    }
    this.options.logger?.info({ remoteAddress: address, username, reason: result.reason }, 'authentication failed: API key refused');
    await this.limiter.onFailure(address, username);
    return { kind: 'rejected', reason: `API key refused (${result.reason})` };
  }
}
