/**
 * zot's `http.auth.bearer` on the resource-server side: `Authorization: Bearer <token>` verified
 * as a registry access token (the token's `access` claims decide what it may do) or, when
 * configured, as an OIDC workload token (the identity it maps to goes through accessControl).
 * Basic credentials (API keys, passwords) go to `basic` when one is given. Without credentials
 * the challenge names the realm, the service and the exact scope the request needs.
 */
import type { AuthRequest, AuthResult, Authenticator, ChallengeContext, Logger } from '@zotjs/core';
import { CATALOG_SCOPE, formatScope, requiredScope, TokenAccess } from './scope.js';
import type { OidcWorkloadVerifier } from './oidc-workload.js';
import { InvalidTokenError, type AccessTokenVerifier, type VerifiedAccessToken } from './verifier.js';

export interface BearerAuthenticatorOptions {
  /** The token endpoint clients are sent to (zot's `bearer.realm`). */
  realm: string;
  /** The audience tokens are issued for (zot's `bearer.service`). */
  service: string;
  /** Registry access tokens (zot's `bearer.cert`, or the built-in token service's keys). */
  tokens?: AccessTokenVerifier;
  /** OIDC workload issuers (zot's `bearer.oidc`), tried after `tokens`. */
  workload?: readonly OidcWorkloadVerifier[];
  /**
   * The built-in token service's issuer: its tokens narrow accessControl (which still tells
   * `create` from `update`) and their `groups` claim is trusted; other issuers' tokens decide alone.
   */
  policyIssuer?: string;
  /** Handles `Authorization: Basic` (API keys, passwords); without it Basic credentials are refused. */
  basic?: Authenticator;
  logger?: Logger;
}

const BEARER = /^bearer\s+(\S+)\s*$/i;

export class BearerAuthenticator implements Authenticator {
  readonly challengesInsufficientScope = true;
  private readonly prefix: string;
  private readonly results = new WeakMap<VerifiedAccessToken, AuthResult>();

  constructor(private readonly options: BearerAuthenticatorOptions) {
    if (!options.tokens && (options.workload ?? []).length === 0)
      throw new Error('BearerAuthenticator needs an access-token verifier or an OIDC workload issuer');
    this.prefix = `Bearer realm=${quote(options.realm)},service=${quote(options.service)}`;
  }

  challenge(context: ChallengeContext = {}): string {
    let value = this.prefix;
    if (context.catalog) value += `,scope=${quote(formatScope(CATALOG_SCOPE))}`;
    else if (context.repository !== undefined && context.action)
      value += `,scope=${quote(formatScope(requiredScope(context.repository, context.action)))}`;
    if (context.error) value += `,error=${quote(context.error)}`;
    return value;
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const header = request.headers['authorization'];
    if (header === undefined || header.trim() === '') return { kind: 'anonymous' };
    if (/^basic\s/i.test(header)) {
      if (this.options.basic) return this.options.basic.authenticate(request);
      return { kind: 'rejected', reason: 'Basic credentials are not accepted here: use a bearer token' };
    }
    const token = BEARER.exec(header)?.[1];
    if (!token) return { kind: 'rejected', reason: 'malformed Authorization header' };

    const reasons: string[] = [];
    if (this.options.tokens) {
      try {
        const verified = await this.options.tokens.verify(token);
        // Verified tokens are cached by the verifier; so is what they mean, so a pull of many layers builds it once.
        const known = this.results.get(verified);
        if (known) return known;
        const result = this.resultOf(verified);
        this.results.set(verified, result);
        return result;
      } catch (err) {
        if (!(err instanceof InvalidTokenError)) throw err;
        reasons.push(err.message);
      }
    }
    for (const issuer of this.options.workload ?? []) {
      try {
        const identity = await issuer.verify(token);
        return { kind: 'authenticated', identity: { username: identity.username, groups: identity.groups, method: 'bearer-oidc' } };
      } catch (err) {
        if (!(err instanceof InvalidTokenError)) throw err;
        reasons.push(err.message);
      }
    }
    this.options.logger?.info({ remoteAddress: request.remoteAddress, reasons }, 'bearer token refused');
    return { kind: 'rejected', reason: reasons.join('; ') || 'invalid token' };
  }

  private resultOf(verified: VerifiedAccessToken): AuthResult {
    const own = this.options.policyIssuer !== undefined && verified.claims.iss === this.options.policyIssuer;
    const access = new TokenAccess(verified.access, own ? 'narrows-policy' : 'replaces-policy');
    // A token issued to an anonymous caller carries what anonymous callers were granted.
    if (verified.subject === '') return { kind: 'anonymous', access };
    const claimed = verified.claims['groups'];
    const groups = own && Array.isArray(claimed) ? claimed.filter((g): g is string => typeof g === 'string') : [];
    return { kind: 'authenticated', identity: { username: verified.subject, groups, method: 'bearer', access } };
  }
}

/** A quoted-string of RFC 9110, with the characters that cannot appear escaped. */
function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}
