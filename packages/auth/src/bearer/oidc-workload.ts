/**
 * zot's OIDC workload identity (`http.auth.bearer.oidc[]`): bearer tokens issued by an OIDC
 * issuer (a Kubernetes service account, a CI system), verified with the keys its discovery
 * document points to, for one of the configured audiences; the identity comes from the claim
 * mapping and accessControl decides what it may do. Discovery is lazy (an issuer that is down at
 * startup does not stop the registry) and refreshed every minute, or sooner for an unknown `kid`.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Logger } from '@zotjs/core';
import { ClaimMapper, type ClaimMappingConfig } from './claim-mapping.js';
import { getJson } from './http-json.js';
import { VerifiedTokenCache } from './token-cache.js';
import { ASYMMETRIC_ALGORITHMS, InvalidTokenError } from './verifier.js';

export interface OidcWorkloadOptions {
  issuer: string;
  /** At least one: the token's `aud` must contain one of them. */
  audiences: readonly string[];
  claimMapping?: ClaimMappingConfig;
  /** PEM CA certificate(s) for the issuer's TLS certificate (zot's certificateAuthority/-File). */
  ca?: string;
  /** Accept a token whose `iss` differs from the configured issuer (testing only, as zot). */
  skipIssuerVerification?: boolean;
  /** How long discovered keys are used before asking the issuer again (default 60 s). */
  refreshIntervalMs?: number;
  clockToleranceSeconds?: number;
  logger?: Logger;
  now?: () => number;
}

export interface WorkloadIdentity {
  username: string;
  groups: string[];
  expiresAt: number;
}

interface Discovered {
  jwks: ReturnType<typeof createLocalJWKSet>;
  kids: Set<string>;
  issuer: string;
  fetchedAt: number;
}

const MIN_REFETCH_MS = 5_000;

export class OidcWorkloadVerifier {
  private discovered: Discovered | undefined;
  private discovering: Promise<Discovered> | undefined;
  private readonly mapper: ClaimMapper;
  private readonly cache: VerifiedTokenCache<WorkloadIdentity>;
  private readonly now: () => number;
  private readonly audiences: string[];

  constructor(private readonly options: OidcWorkloadOptions) {
    this.audiences = options.audiences.map((a) => a.trim());
    if (this.audiences.length === 0 || this.audiences.some((a) => a === ''))
      throw new Error('an OIDC workload issuer needs at least one non-empty audience');
    this.mapper = new ClaimMapper(options.claimMapping);
    this.now = options.now ?? Date.now;
    this.cache = new VerifiedTokenCache(10_000, this.now);
  }

  get issuer(): string {
    return this.options.issuer;
  }

  async verify(token: string): Promise<WorkloadIdentity> {
    const cacheKey = VerifiedTokenCache.keyOf(token);
    const cached = this.cache.get(cacheKey, 0);
    if (cached) return cached;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new InvalidTokenError('not a JWS compact token');
    }
    let discovered = await this.keys(false);
    if (kid !== undefined && !discovered.kids.has(kid) && this.now() - discovered.fetchedAt > MIN_REFETCH_MS)
      discovered = await this.keys(true);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, discovered.jwks, {
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        ...(this.options.skipIssuerVerification ? {} : { issuer: discovered.issuer }),
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
        requiredClaims: ['exp'],
        currentDate: new Date(this.now()),
      }));
    } catch (err) {
      throw new InvalidTokenError(
        `OIDC token from ${this.options.issuer} refused: ${(err as { code?: string }).code ?? (err as Error).message}`,
      );
    }
    const aud = Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud];
    if (!this.audiences.some((a) => aud.includes(a)))
      throw new InvalidTokenError('OIDC token audience is not one of the configured audiences');
    let mapped;
    try {
      mapped = this.mapper.map(payload as Record<string, unknown>);
    } catch (err) {
      throw new InvalidTokenError((err as Error).message);
    }
    const identity = { ...mapped, expiresAt: payload.exp! * 1000 };
    this.cache.set(cacheKey, identity, identity.expiresAt, 0);
    return identity;
  }

  private async keys(force: boolean): Promise<Discovered> {
    const fresh = this.discovered && this.now() - this.discovered.fetchedAt < (this.options.refreshIntervalMs ?? 60_000);
    if (this.discovered && fresh && !force) return this.discovered;
    this.discovering ??= this.discover().finally(() => (this.discovering = undefined));
    try {
      return await this.discovering;
    } catch (err) {
      // Keys fetched earlier still verify while the issuer is unreachable.
      if (this.discovered) {
        this.options.logger?.warn(
          { issuer: this.options.issuer, err: { message: (err as Error).message } },
          'OIDC issuer unreachable; using the keys fetched earlier',
        );
        return this.discovered;
      }
      throw new InvalidTokenError(`OIDC issuer ${this.options.issuer} is unreachable`);
    }
  }

  private async discover(): Promise<Discovered> {
    const base = this.options.issuer.replace(/\/$/, '');
    const metadata = await getJson(`${base}/.well-known/openid-configuration`, this.options.ca);
    const jwksUri = (metadata as { jwks_uri?: unknown }).jwks_uri;
    const issuer = (metadata as { issuer?: unknown }).issuer;
    if (typeof jwksUri !== 'string' || typeof issuer !== 'string') throw new Error('discovery document without issuer or jwks_uri');
    if (issuer !== this.options.issuer && !this.options.skipIssuerVerification) {
      throw new Error(`discovery document names issuer ${issuer}, not ${this.options.issuer}`);
    }
    const set = (await getJson(jwksUri, this.options.ca)) as JSONWebKeySet;
    if (!Array.isArray(set.keys)) throw new Error('JWKS without keys');
    const discovered = {
      jwks: createLocalJWKSet(set),
      kids: new Set(set.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string')),
      issuer: this.options.issuer,
      fetchedAt: this.now(),
    };
    this.discovered = discovered;
    return discovered;
  }
}
