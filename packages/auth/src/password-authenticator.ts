/**
 * HTTP Basic authentication over one or more password backends (htpasswd, LDAP), tried in order
 * as zot does (htpasswd first). Verified logins are cached; failures lock the user name from that
 * address for a while (answered 429 with Retry-After), never anybody else.
 */
import { RegistryError, type AuthRequest, type AuthResult, type Authenticator, type Logger } from '@zotjs/core';
import { parseBasicAuthorization } from './basic-auth.js';
import { CredentialCache } from './credential-cache.js';
import { FailureLimiter, normalizeAddress } from './failure-limiter.js';
import { BackendUnavailableError, type PasswordVerifier } from './verifier.js';

export interface PasswordAuthenticatorOptions {
  verifiers: readonly PasswordVerifier[];
  realm: string;
  limiter?: FailureLimiter;
  cache?: CredentialCache;
  logger?: Logger;
}

export class PasswordAuthenticator implements Authenticator {
  private readonly verifiers: readonly PasswordVerifier[];
  private readonly limiter: FailureLimiter;
  private readonly cache: CredentialCache;
  private readonly challengeValue: string;
  private readonly logger: Logger | undefined;
  private readonly inFlight = new Map<string, Promise<AuthResult>>();

  constructor(options: PasswordAuthenticatorOptions) {
    if (options.verifiers.length === 0) throw new Error('PasswordAuthenticator needs at least one password backend');
    this.verifiers = options.verifiers;
    this.limiter = options.limiter ?? new FailureLimiter();
    this.cache = options.cache ?? new CredentialCache();
    this.logger = options.logger;
    this.challengeValue = basicChallenge(options.realm);
  }

  challenge(): string {
    return this.challengeValue;
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const parsed = parseBasicAuthorization(request.headers['authorization']);
    if (parsed.kind === 'none') return { kind: 'anonymous' };
    const address = normalizeAddress(request.remoteAddress);
    if (parsed.kind === 'malformed') {
      this.logger?.info({ remoteAddress: address, reason: parsed.reason }, 'authentication failed');
      await this.limiter.onFailure(address, '');
      return { kind: 'rejected', reason: parsed.reason };
    }
    const { username, password } = parsed.credentials;

    const versions = await this.versions();
    const key = this.cache.keyOf(username, password);
    const cached = this.cache.get(key, (backend) => versions.get(backend));
    if (cached) {
      this.limiter.onSuccess(address, username);
      return { kind: 'authenticated', identity: cached.identity };
    }

    // Parallel first requests with the same credentials (a client fetching layers at once) share
    // one verification instead of each running bcrypt or an LDAP bind.
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const attempt = this.verify(key, username, password, address, versions).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, attempt);
    return attempt;
  }

  private async verify(
    key: string,
    username: string,
    password: string,
    address: string | undefined,
    versions: Map<string, number>,
  ): Promise<AuthResult> {
    const permit = this.limiter.check(address, username);
    if (!permit.allowed) {
      const retryAfter = Math.max(1, Math.ceil(permit.retryAfterMs / 1000));
      this.logger?.warn(
        { remoteAddress: address, username, retryAfter },
        'authentication refused: too many failed attempts for this user from this address',
      );
      throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins for this user from this address: retry later', {
        headers: { 'Retry-After': String(retryAfter) },
      });
    }

    if (password === '') {
      // An empty password is never a login (for LDAP it would be an anonymous bind).
      this.logger?.info({ remoteAddress: address, username }, 'authentication failed: empty password');
      await this.limiter.onFailure(address, username);
      return { kind: 'rejected', reason: 'empty password' };
    }

    let unavailable: BackendUnavailableError | undefined;
    for (const verifier of this.verifiers) {
      let outcome;
      try {
        outcome = await verifier.verify(username, password);
      } catch (err) {
        if (!(err instanceof BackendUnavailableError)) throw err;
        // Another backend may still know the user; remember the outage in case none does.
        unavailable = err;
        this.logger?.error({ backend: err.backend, err: { message: err.message } }, 'authentication backend unavailable');
        continue;
      }
      if (outcome.ok) {
        const identity = { username, groups: [...outcome.groups], method: 'basic' };
        this.cache.set(key, identity, verifier.name, versions.get(verifier.name) ?? 0, verifier.cacheTtlMs);
        this.limiter.onSuccess(address, username);
        this.logger?.debug({ username, backend: verifier.name }, 'authenticated');
        return { kind: 'authenticated', identity };
      }
    }
    if (unavailable) {
      throw new RegistryError('UNAVAILABLE', 'the authentication backend is unavailable, try again later', { status: 503 });
    }
    this.logger?.info({ remoteAddress: address, username }, 'authentication failed: unknown user or wrong password');
    await this.limiter.onFailure(address, username);
    return { kind: 'rejected', reason: 'invalid credentials' };
  }

  async close(): Promise<void> {
    this.cache.clear();
    await Promise.all(this.verifiers.map((v) => v.close?.()));
  }

  private async versions(): Promise<Map<string, number>> {
    const versions = new Map<string, number>();
    for (const verifier of this.verifiers) versions.set(verifier.name, verifier.version ? await verifier.version() : 0);
    return versions;
  }
}

export function basicChallenge(realm: string): string {
  return `Basic realm="${realm.replace(/["\\]/g, '')}"`;
}
