/**
 * Verifies registry access tokens (distribution's jwt.md): an asymmetric signature by one of the
 * trusted keys (never `none`, never an HMAC), `iss` when one is configured, `aud` = the service,
 * `exp`/`nbf` with a small clock skew, and a well-formed `access` claim. Verified tokens are
 * cached until they expire.
 */
import { decodeProtectedHeader, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { parseAccessClaim, type AccessEntry } from './scope.js';
import { VerifiedTokenCache } from './token-cache.js';
import type { VerificationKeySource } from './keys.js';

/** Signature algorithms accepted: asymmetric only, so a public key can never act as an HMAC secret. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export interface VerifiedAccessToken {
  /** `sub`; empty for a token issued to an anonymous caller. */
  readonly subject: string;
  readonly access: readonly AccessEntry[];
  readonly expiresAt: number;
  readonly claims: JWTPayload;
}

export interface AccessTokenVerifierOptions {
  keys: VerificationKeySource;
  /** The `aud` tokens must carry: zot's `bearer.service`. */
  audience: string;
  /** Accepted `iss` values; without one any issuer signing with a trusted key is accepted (zot's behaviour). */
  issuer?: string | readonly string[];
  /** Seconds of clock difference tolerated on `exp`, `nbf` and `iat` (default 30). */
  clockToleranceSeconds?: number;
  /** Longest lifetime accepted for a token without `exp` (never: default required). */
  maxCacheEntries?: number;
  now?: () => number;
}

/** Why a token was refused, for logs (never the token itself). */
export class InvalidTokenError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidTokenError';
  }
}

export class AccessTokenVerifier {
  private readonly cache: VerifiedTokenCache<VerifiedAccessToken>;
  private readonly now: () => number;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.now = options.now ?? Date.now;
    this.cache = new VerifiedTokenCache(options.maxCacheEntries ?? 10_000, this.now);
  }

  /** Resolves the verified token; rejects with {@link InvalidTokenError}. */
  async verify(token: string): Promise<VerifiedAccessToken> {
    const keys = await this.options.keys.keys();
    const version = this.options.keys.version();
    const cacheKey = VerifiedTokenCache.keyOf(token);
    const cached = this.cache.get(cacheKey, version);
    if (cached) return cached;

    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new InvalidTokenError('not a JWS compact token');
    }
    if (typeof header.alg !== 'string' || !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(header.alg)) {
      throw new InvalidTokenError(`algorithm ${String(header.alg)} is not accepted`);
    }
    // Keys named by `kid` first; a token without a known kid is tried against every trusted key.
    const named = header.kid ? keys.filter((k) => k.ids.includes(header.kid!)) : [];
    const candidates = named.length > 0 ? named : keys;
    let lastError: unknown;
    for (const candidate of candidates) {
      try {
        const { payload } = await jwtVerify(token, candidate.key, {
          algorithms: [...ASYMMETRIC_ALGORITHMS],
          audience: this.options.audience,
          ...(this.options.issuer !== undefined ? { issuer: this.options.issuer as string | string[] } : {}),
          clockTolerance: this.options.clockToleranceSeconds ?? 30,
          requiredClaims: ['exp'],
          currentDate: new Date(this.now()),
        });
        const access = parseAccessClaim(payload['access']);
        if (!access) throw new InvalidTokenError('malformed access claim');
        if (payload['token_use'] === 'refresh') throw new InvalidTokenError('a refresh token is not an access token');
        const verified: VerifiedAccessToken = {
          subject: typeof payload.sub === 'string' ? payload.sub : '',
          access,
          expiresAt: payload.exp! * 1000,
          claims: payload,
        };
        this.cache.set(cacheKey, verified, verified.expiresAt, version);
        return verified;
      } catch (err) {
        if (err instanceof InvalidTokenError) throw err;
        lastError = err;
        // Only a bad signature may be another key's token; any claim failure is final.
        if (
          !(err instanceof joseErrors.JWSSignatureVerificationFailed) &&
          !(err instanceof joseErrors.JOSEAlgNotAllowed) &&
          !isKeyTypeError(err)
        )
          break;
      }
    }
    throw new InvalidTokenError(describe(lastError));
  }

  clearCache(): void {
    this.cache.clear();
  }
}

function isKeyTypeError(err: unknown): boolean {
  return err instanceof TypeError || (err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_NOT_SUPPORTED');
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim ${err.claim} ${err.reason}`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || isKeyTypeError(err))
    return 'signature does not verify with any trusted key';
  if (err instanceof joseErrors.JOSEError) return err.code;
  return err instanceof Error ? err.message : 'invalid token';
}
