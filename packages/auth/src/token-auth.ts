/**
 * The token, single sign-on, API-key and session parts of a zot `http.auth` section, built into
 * authenticators and routes: `bearer` (access tokens verified with `cert` and/or the built-in
 * token service's keys, OIDC workload tokens), `tokenService` (zot-ts: `/zot/auth/token`),
 * `apikey` (`/zot/auth/apikey`; also on with `openid`, as in zot), `openid` (`/zot/auth/login`,
 * the callbacks, `/zot/auth/logout`) and the browser sessions they share (`sessionKeysFile`,
 * `sessionDriver`, `secureSession`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOKEN_SERVICE_DEFAULTS, parseDuration, type HttpConfig } from '@zotjs/config';
import type { AuthResult, Authenticator, Authorizer, Logger, RouteDefinition } from '@zotjs/core';
import { ApiKeyAuthenticator } from './apikey/authenticator.js';
import { apiKeyRoutes } from './apikey/routes.js';
import { ApiKeyService } from './apikey/service.js';
import { LocalApiKeyStore, RedisApiKeyStore, type ApiKeyStore } from './apikey/store.js';
import { BearerAuthenticator } from './bearer/authenticator.js';
import { CombinedKeySource, PublicKeyFile, type VerificationKeySource } from './bearer/keys.js';
import type { ClaimMappingConfig } from './bearer/claim-mapping.js';
import { OidcWorkloadVerifier } from './bearer/oidc-workload.js';
import { AccessTokenVerifier } from './bearer/verifier.js';
import type { FailureLimiter } from './failure-limiter.js';
import { OpenIdProvider } from './oidc/provider.js';
import { openIdRoutes } from './oidc/routes.js';
import { basicChallenge } from './password-authenticator.js';
import { CookieSealer, randomSessionKeys, readSessionKeysFile } from './session/cookie.js';
import { BrowserLoginAuthenticator, SessionAuthenticator, SessionManager } from './session/manager.js';
import { LocalSessionStore, RedisSessionStore, type SessionStore } from './session/store.js';
import { SigningKeySet } from './token-service/signing-keys.js';
import { TokenService } from './token-service/service.js';
import { TOKEN_PATH, tokenRoutes } from './token-service/routes.js';

type Auth = NonNullable<NonNullable<HttpConfig>['auth']>;

export interface TokenAuthOptions {
  auth: Auth;
  realm: string;
  /** `http.externalUrl`: where clients reach the registry (behind a proxy). */
  externalUrl?: string;
  /** The listener's own URL, used where `externalUrl` is not set. */
  listenUrl: string;
  /** The password authenticator (htpasswd, LDAP), if any. */
  basic?: Authenticator;
  /** Adds client-certificate logins (mutual TLS) behind an authenticator; identity when there is none. */
  wrapCertificates: (front: Authenticator) => Authenticator;
  /** Whether the listener is HTTPS (session cookies are then always Secure). */
  tls: boolean;
  /** Folder for local session and API-key files (the storage root); without it they need Redis. */
  dataDirectory?: string;
  authorizer?: Authorizer;
  limiter: FailureLimiter;
  logger?: Logger;
}

export interface TokenAuth {
  /** The password authenticator wrapped with API keys, bearer tokens, browser logins and sessions; undefined when none is on. */
  authenticator: Authenticator | undefined;
  routes: RouteDefinition[];
  /** What is on, for the startup log line. */
  summary: string[];
  close(): Promise<void>;
}

/** Builds them; files (keys, certificates, session keys) are read now, so a bad path stops startup. */
export async function createTokenAuth(options: TokenAuthOptions): Promise<TokenAuth> {
  const { logger } = options;
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(closers.map((c) => c().catch(() => undefined)));
  };
  try {
    return await build(options, closers, close);
  } catch (err) {
    await close();
    logger?.error({ err: { message: (err as Error).message } }, 'token authentication setup failed');
    throw err;
  }
}

async function build(options: TokenAuthOptions, closers: (() => Promise<void>)[], close: () => Promise<void>): Promise<TokenAuth> {
  const { auth, logger, basic } = options;
  const logged = logger ? { logger } : {};
  const baseUrl = (options.externalUrl || options.listenUrl).replace(/\/+$/, '');
  const redisDriver = auth.sessionDriver?.name?.toLowerCase() === 'redis' ? auth.sessionDriver : undefined;
  const redis = redisDriver?.url ? { url: redisDriver.url, keyPrefix: redisDriver.keyprefix || 'zotsession' } : undefined;
  const openid = auth.openid && Object.keys(auth.openid.providers ?? {}).length > 0 ? auth.openid : undefined;
  const summary: string[] = [];
  const routes: RouteDefinition[] = [];

  // API keys (zot: on with openid too, the way command-line clients log in then).
  let keys: ApiKeyService | undefined;
  if (auth.apikey === true || openid) {
    let store: ApiKeyStore;
    if (redis) store = new RedisApiKeyStore(redis);
    else if (options.dataDirectory) store = new LocalApiKeyStore(join(options.dataDirectory, '_apikeys', 'apikeys.json'));
    else throw new Error('http.auth.apikey: API keys need a storage root or http.auth.sessionDriver redis');
    closers.push(() => store.close());
    keys = new ApiKeyService({ store, ...logged });
    summary.push('apikey');
  }

  // Browser sessions: for single sign-on, and for zot's UI logging in with a password.
  const sessionsWanted = openid !== undefined || auth.htpasswd?.path || auth.ldap !== undefined || keys !== undefined;
  let sessions: { manager: SessionManager; store: SessionStore; sealer: CookieSealer } | undefined;
  if (sessionsWanted && (redis || options.dataDirectory)) {
    const store: SessionStore = redis ? new RedisSessionStore(redis) : new LocalSessionStore(join(options.dataDirectory!, '_sessions'));
    closers.push(() => store.close());
    // Without sessionKeysFile: a random key made once and kept in the session store, so every worker and
    // replica sharing the store reads the same cookies, and sessions survive a restart.
    const keys = auth.sessionKeysFile
      ? await readSessionKeysFile(auth.sessionKeysFile)
      : { hashKey: Buffer.from(await store.sharedSecret('cookie-hash-key', randomSessionKeys().hashKey.toString('base64url'))) };
    const sealer = new CookieSealer(keys);
    const manager = new SessionManager({ store, sealer, secure: options.tls || auth.secureSession === true, ...logged });
    sessions = { manager, store, sealer };
    summary.push(redis ? 'sessions (redis)' : 'sessions (local)');
  }

  if (openid) {
    if (!sessions)
      throw new Error('http.auth.openid: single sign-on needs a storage root or http.auth.sessionDriver redis for its sessions');
    const providers: OpenIdProvider[] = [];
    for (const [name, provider] of Object.entries(openid.providers ?? {})) {
      const credentials = provider.credentialsFile ? await readClientCredentials(provider.credentialsFile) : {};
      const clientId = credentials.clientid ?? provider.clientid;
      const clientSecret = credentials.clientsecret ?? provider.clientsecret;
      if (!clientId) throw new Error(`http.auth.openid.providers.${name}: no clientid`);
      const issuer = provider.issuer;
      providers.push(
        new OpenIdProvider({
          name,
          kind: name === 'github' ? 'github' : 'oidc',
          clientId,
          ...(clientSecret ? { clientSecret } : {}),
          ...(issuer ? { issuer } : {}),
          ...(provider.authurl ? { authUrl: provider.authurl } : {}),
          ...(provider.tokenurl ? { tokenUrl: provider.tokenurl } : {}),
          scopes: provider.scopes ?? [],
          ...(provider.claimMapping ? { claimMapping: definedOnly(provider.claimMapping) } : {}),
          redirectUri: `${baseUrl}/zot/auth/callback/${name}`,
          allowInsecureRequests: [issuer, provider.authurl, provider.tokenurl].some((u) => u !== undefined && isLoopbackHttp(u)),
          ...logged,
        }),
      );
      for (const url of [issuer, provider.authurl, provider.tokenurl])
        if (url?.startsWith('http://') && !isLoopbackHttp(url))
          throw new Error(`http.auth.openid.providers.${name}: ${url} is plain http (only loopback providers may be)`);
    }
    routes.push(
      ...openIdRoutes({
        providers,
        sessions: sessions.manager,
        store: sessions.store,
        sealer: sessions.sealer,
        ...(openid.callbackAllowOrigins ? { callbackAllowOrigins: openid.callbackAllowOrigins } : {}),
        ...logged,
      }),
    );
    summary.push(`openid (${providers.map((p) => p.name).join(', ')})`);
  }

  // The token service and the bearer resource server.
  const bearer = auth.bearer;
  let tokenService: TokenService | undefined;
  const keySources: VerificationKeySource[] = [];
  if (auth.tokenService) {
    const config = auth.tokenService;
    const set = await SigningKeySet.open(config.signingKeys, logged);
    keySources.push(set);
    tokenService = new TokenService({
      issuer: config.issuer || options.externalUrl || 'zot-ts',
      service: bearer!.service!,
      keys: set,
      ...(options.authorizer ? { authorizer: options.authorizer } : {}),
      accessTokenTtlSeconds: seconds(config.accessTokenExpiry ?? TOKEN_SERVICE_DEFAULTS.accessTokenExpiry),
      refreshTokenTtlSeconds: seconds(config.refreshTokenExpiry ?? TOKEN_SERVICE_DEFAULTS.refreshTokenExpiry),
      ...(keys ? { apiKeyIsValid: (id: string) => keys.isValid(id) } : {}),
    });
    summary.push('token service');
  }
  if (bearer?.cert) keySources.push(await PublicKeyFile.open(bearer.cert, logged));

  const realm = bearer?.realm || `${baseUrl}${TOKEN_PATH}`;
  let workload: OidcWorkloadVerifier[] = [];
  if (bearer?.oidc?.length) {
    workload = await Promise.all(
      bearer.oidc.map(async (entry) => {
        const ca =
          entry.certificateAuthority ||
          (entry.certificateAuthorityFile ? await readFile(entry.certificateAuthorityFile, 'utf8') : undefined);
        return new OidcWorkloadVerifier({
          issuer: entry.issuer!,
          audiences: entry.audiences ?? [],
          ...(entry.claimMapping ? { claimMapping: celMapping(entry.claimMapping) } : {}),
          ...(ca ? { ca } : {}),
          skipIssuerVerification: entry.skipIssuerVerification === true,
          ...logged,
        });
      }),
    );
    summary.push('oidc workload identity');
  }
  // Accepted issuers: bearer.issuer (and our own); our own alone when no external cert is trusted; else any (zot).
  const issuers = bearer?.issuer ? [bearer.issuer] : [];
  if (tokenService && (bearer?.issuer || !bearer?.cert)) issuers.push(tokenService.issuer);
  const tokens =
    keySources.length > 0 && bearer?.service
      ? new AccessTokenVerifier({
          keys: keySources.length === 1 ? keySources[0]! : new CombinedKeySource(keySources),
          audience: bearer.service,
          ...(issuers.length > 0 ? { issuer: issuers } : {}),
        })
      : undefined;
  if (tokens) summary.push('bearer');

  const authenticator = ((): Authenticator | undefined => {
    // Basic credentials: an API key, else the password backends.
    let credentials = basic;
    if (keys)
      credentials = new ApiKeyAuthenticator({
        keys,
        ...(basic ? { passwords: basic } : {}),
        realm: options.realm,
        limiter: options.limiter,
        ...logged,
      });
    if (tokenService) {
      routes.push(
        ...tokenRoutes({
          service: tokenService,
          credentials: credentials ?? new NoCredentials(options.realm),
          allowAnonymous: auth.tokenService?.anonymous ?? TOKEN_SERVICE_DEFAULTS.anonymous,
          ...logged,
        }),
      );
    }
    if (sessions && credentials) credentials = new BrowserLoginAuthenticator(credentials, sessions.manager);
    let front =
      tokens || workload.length > 0
        ? new BearerAuthenticator({
            realm,
            service: bearer?.service ?? '',
            ...(tokens ? { tokens } : {}),
            workload,
            ...(tokenService ? { policyIssuer: tokenService.issuer } : {}),
            ...(credentials ? { basic: credentials } : {}),
            ...logged,
          })
        : credentials;
    if (!front) return undefined;
    const wrapped = options.wrapCertificates(front);
    if (keys) routes.push(...apiKeyRoutes({ keys, challenge: () => wrapped.challenge() }));
    front = wrapped;
    return sessions ? new SessionFallback(front, new SessionAuthenticator(sessions.manager, { realm: options.realm })) : front;
  })();

  return { authenticator, routes, summary, close };
}

/** The front authenticator decides; a request it finds no credentials in may carry a session cookie. */
class SessionFallback implements Authenticator {
  readonly challengesInsufficientScope: boolean;

  constructor(
    private readonly front: Authenticator,
    private readonly sessions: SessionAuthenticator,
  ) {
    this.challengesInsufficientScope = front.challengesInsufficientScope ?? false;
  }

  challenge(context?: Parameters<Authenticator['challenge']>[0]): string {
    return this.front.challenge(context);
  }

  async authenticate(request: Parameters<Authenticator['authenticate']>[0]): Promise<AuthResult> {
    const result = await this.front.authenticate(request);
    if (result.kind !== 'anonymous' || result.access) return result;
    const bySession = await this.sessions.authenticate(request);
    return bySession.kind === 'authenticated' ? bySession : result;
  }
}

/** The token endpoint's credential check when no password backend or API keys are configured: none are valid. */
class NoCredentials implements Authenticator {
  private readonly value: string;

  constructor(realm: string) {
    this.value = basicChallenge(realm);
  }

  challenge(): string {
    return this.value;
  }

  async authenticate(): Promise<AuthResult> {
    return { kind: 'rejected', reason: 'no password backend is configured' };
  }
}

/** A validated Go duration in whole seconds. */
function seconds(duration: string): number {
  return Math.round((parseDuration(duration) ?? 0) / 1000);
}

type WrittenCelMapping = NonNullable<NonNullable<NonNullable<Auth['bearer']>['oidc']>[number]['claimMapping']>;

function celMapping(mapping: WrittenCelMapping): ClaimMappingConfig {
  return {
    ...(mapping.variables ? { variables: mapping.variables } : {}),
    ...(mapping.validations
      ? { validations: mapping.validations.map((v) => ({ expression: v.expression, message: v.message ?? '' })) }
      : {}),
    ...(mapping.username ? { username: mapping.username } : {}),
    ...(mapping.groups ? { groups: mapping.groups } : {}),
  };
}

function isLoopbackHttp(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    return protocol === 'http:' && (hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname));
  } catch {
    return false;
  }
}

function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/** zot's OpenID credentials file: `{"clientid": ..., "clientsecret": ...}` (keys in any case). The error never echoes it. */
async function readClientCredentials(path: string): Promise<{ clientid?: string; clientsecret?: string }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    const why = (err as { code?: string }).code ?? (err instanceof SyntaxError ? 'not valid JSON' : 'unreadable');
    throw new Error(`cannot read the OpenID credentials file ${path} (${why})`);
  }
  const entries = Object.entries(typeof parsed === 'object' && parsed !== null ? parsed : {});
  const get = (key: string): string | undefined => {
    const value = entries.find(([k]) => k.toLowerCase() === key)?.[1];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const clientid = get('clientid');
  const clientsecret = get('clientsecret');
  return { ...(clientid ? { clientid } : {}), ...(clientsecret ? { clientsecret } : {}) };
}
