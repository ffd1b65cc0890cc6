/**
 * Token auth, single sign-on, API keys, browser sessions and client-certificate identities under
 * `http.auth` (zot's `bearer`, `openid`, `apikey`, `sessionKeysFile`, `sessionDriver`,
 * `secureSession`, `mtls`), `http.externalUrl` and `http.tls.ciphers`, plus zot-ts's built-in
 * token service (`http.auth.tokenService`, which zot does not have). Implemented by @zotjs/auth.
 * zot keys zot-ts does not implement are refused by name.
 */
import { z } from 'zod';
import { duration, flag, integer, list, map, oneOf, section, text } from './kit.js';

export const TOKEN_SERVICE_DEFAULTS = { accessTokenExpiry: '5m', refreshTokenExpiry: '720h', anonymous: true } as const;
export const SESSION_DEFAULTS = { driver: 'local', keyprefix: 'zotsession' } as const;
export const MTLS_IDENTITY_ATTRIBUTES = ['CommonName', 'Subject', 'Email', 'URI', 'DNSName'] as const;
/** zot's OpenID provider names: OpenID Connect ones, and GitHub's plain OAuth2. */
export const OPENID_PROVIDERS = ['oidc', 'google', 'gitlab', 'github'] as const;

/** A zot key zot-ts does not implement: any value other than "not set" is refused with `why`. */
function unsupported(why: string, options: { emptyIsUnset?: boolean } = {}): z.ZodType<unknown> {
  return z.unknown().superRefine((value, ctx) => {
    if (value === undefined || value === null || (options.emptyIsUnset && value === '')) return;
    ctx.addIssue({ code: 'custom', message: `is not supported by zot-ts: ${why}` });
  });
}

const absoluteUrl = (description: string) =>
  text({ pattern: /^https?:\/\/[^\s/]+(?:\/\S*)?$/i, patternHint: 'an http:// or https:// URL', description });

export const tlsCiphers = list(text({ nonEmpty: true }), {
  description:
    'OpenSSL names of the cipher suites offered (TLS 1.3 and 1.2). Default: the TLS 1.3 suites and TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305 only',
});

export const mtlsSchema = section(
  {
    identityAttributes: list(
      oneOf(MTLS_IDENTITY_ATTRIBUTES, {
        anyCase: true,
        error: (value) => `${JSON.stringify(value)} is not an identity attribute (${MTLS_IDENTITY_ATTRIBUTES.join(', ')})`,
      }),
      { default: ['CommonName'], description: 'certificate fields tried in order; the first one present is the identity' },
    ),
    uriSanPattern: text({
      description:
        'regular expression applied to the URI SAN (SPIFFE ID); its first group is the identity, e.g. spiffe://example.org/workload/(.*)',
    }).superRefine((value, ctx) => {
      try {
        new RegExp(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
      }
    }),
    uriSanIndex: integer({ min: 0, default: 0, description: 'which URI SAN to use when there are several' }),
    dnsSanIndex: integer({ min: 0, default: 0, description: 'which DNS SAN to use when there are several' }),
    emailSanIndex: integer({ min: 0, default: 0, description: 'which e-mail SAN to use when there are several' }),
  },
  { description: "zot's client-certificate identity settings; needs tls.cacert" },
);

const celClaimMapping = section(
  {
    variables: list(
      section({ name: text({ required: true }), expression: text({ required: true }) }, { required: ['name', 'expression'] }),
      { description: 'CEL variables computed from claims (usable as vars.<name>)' },
    ),
    validations: list(section({ expression: text({ required: true }), message: text() }, { required: ['expression'] }), {
      description: 'CEL expressions that must be true, with the message logged when one is not',
    }),
    username: text({ description: "CEL expression of the user name (default claims.iss + '/' + claims.sub)" }),
    groups: text({ description: 'CEL expression of the list of groups (default: none)' }),
  },
  { description: 'how token claims are validated and mapped to an identity (CEL)' },
);

export const bearerSchema = section(
  {
    realm: absoluteUrl(
      'the token endpoint clients are sent to (default with tokenService: <externalUrl, else the listen address>/zot/auth/token)',
    ),
    service: text({ description: 'the audience tokens must be issued for (their aud claim)' }),
    cert: text({
      description:
        'PEM certificate(s) or public key(s) of the token issuer, re-read when the file changes (optional with tokenService: its own keys verify)',
    }),
    issuer: text({ description: 'zot-ts: the iss tokens must carry (default: any issuer signing with a trusted key, as zot)' }),
    oidc: list(
      section(
        {
          issuer: absoluteUrl('the OIDC issuer URL (discovery at <issuer>/.well-known/openid-configuration)'),
          audiences: list(text({ nonEmpty: true }), { description: 'accepted audiences (at least one)' }),
          claimMapping: celClaimMapping,
          certificateAuthority: text({ description: "PEM CA certificate for the issuer's TLS certificate" }),
          certificateAuthorityFile: text({ description: "PEM CA file for the issuer's TLS certificate" }),
          skipIssuerVerification: flag({ default: false, description: 'accept tokens whose iss differs from issuer (testing only)' }),
        },
        { required: ['issuer', 'audiences'] },
      ),
      { description: 'OIDC workload identity: ID tokens of these issuers are accepted as bearer tokens; accessControl decides' },
    ),
    upstreamTokenEndpoint: unsupported('the built-in tokenService issues tokens itself; point realm at an external service instead'),
    awsSecretsManager: unsupported('keep the verification keys in the cert file'),
  },
  { description: 'token authentication: bearer access tokens (distribution token spec) verified with cert, or OIDC workload tokens' },
);

export const tokenServiceSchema = section(
  {
    signingKeys: text({
      required: true,
      description:
        'PEM private key file (RSA, EC P-256/384/521, Ed25519), or a folder of them: the newest signs, all verify (add a file to rotate)',
    }),
    issuer: text({ description: 'iss of the tokens (default: http.externalUrl, else "zot-ts")' }),
    accessTokenExpiry: duration({ default: TOKEN_SERVICE_DEFAULTS.accessTokenExpiry, description: 'access token lifetime (at least 60s)' }),
    refreshTokenExpiry: duration({
      default: TOKEN_SERVICE_DEFAULTS.refreshTokenExpiry,
      description: 'refresh token lifetime (docker login keeps one)',
    }),
    anonymous: flag({
      default: TOKEN_SERVICE_DEFAULTS.anonymous,
      description: 'issue tokens to callers without credentials (with what anonymousPolicy allows)',
    }),
  },
  {
    required: ['signingKeys'],
    description: 'zot-ts: the built-in token service at /zot/auth/token (GET and OAuth2 POST); needs bearer.service',
  },
);

const providerSchema = section(
  {
    name: text({ description: 'display name' }),
    clientid: text({ description: 'OAuth2 client id (or in credentialsFile)' }),
    clientsecret: text({ secret: true, description: 'OAuth2 client secret (prefer credentialsFile)' }),
    credentialsFile: text({ description: 'JSON file {"clientid": ..., "clientsecret": ...}; overrides clientid and clientsecret' }),
    keypath: unsupported('private-key client authentication; use clientsecret', { emptyIsUnset: true }),
    issuer: absoluteUrl('OIDC issuer URL (oidc, google, gitlab)'),
    authurl: absoluteUrl('authorization endpoint (GitHub Enterprise)'),
    tokenurl: absoluteUrl('token endpoint (GitHub Enterprise)'),
    scopes: list(text({ nonEmpty: true }), { description: 'scopes requested (openid is added for OIDC providers)' }),
    claimMapping: section(
      {
        username: text({ description: 'claim naming the user (default email)' }),
        groups: text({ description: 'claim listing the groups (default groups)' }),
      },
      { description: 'which ID token claims give the user name and the groups' },
    ),
  },
  { description: 'one provider' },
);

export const openIdSchema = section(
  {
    providers: map(providerSchema, { description: `provider name (${OPENID_PROVIDERS.join(', ')}) -> settings` }),
    callbackAllowOrigins: list(absoluteUrl(''), {
      description: 'absolute origins callback_ui may redirect to (default: same-origin paths only)',
    }),
  },
  { description: 'single sign-on with OpenID Connect and OAuth2 providers at /zot/auth/login?provider=<name>' },
);

export const sessionDriverSchema = section(
  {
    name: oneOf(['local', 'redis'], { anyCase: true, description: 'local: files under the storage root; redis: shared by replicas' }),
    url: text({
      secret: true,
      pattern: /^rediss?:\/\/\S+$/,
      patternHint: 'a redis:// or rediss:// URL',
      description: 'Redis URL (redis driver)',
    }),
    keyprefix: text({ default: SESSION_DEFAULTS.keyprefix, description: 'prefix of every Redis key' }),
  },
  { required: ['name'], description: 'where sessions (and, with redis, API keys) are kept' },
);

/** The keys this file adds to `http.auth`. */
export const authTokenKeys = {
  bearer: bearerSchema,
  tokenService: tokenServiceSchema,
  openid: openIdSchema,
  apikey: flag({ default: false, description: 'API keys: POST/GET/DELETE /zot/auth/apikey; a key works as the password of basic auth' }),
  sessionKeysFile: text({
    description:
      'JSON file {"hashKey": ..., "encryptKey": ...} protecting session cookies (default: a random hashKey kept in the session store, shared by the workers and replicas using it)',
  }),
  sessionDriver: sessionDriverSchema,
  secureSession: flag({ description: 'mark the session cookie Secure even without http.tls (behind a TLS proxy)' }),
  mtls: mtlsSchema,
};

interface WrittenHttp {
  externalUrl?: string | undefined;
  tls?: { cacert?: string | undefined } | undefined;
  auth?: Record<string, unknown> | undefined;
}

/** Cross-key rules of the token, session and single sign-on keys. */
export function checkAuthTokens(http: WrittenHttp, ctx: z.RefinementCtx): void {
  const auth = http.auth;
  if (typeof auth !== 'object' || auth === null) return;
  const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path: ['auth', ...path], message });
  const bearer = auth.bearer as { realm?: string; service?: string; cert?: string; oidc?: unknown[] } | undefined;
  const tokenService = auth.tokenService as object | undefined;
  if (bearer && (bearer.cert || tokenService)) {
    if (!bearer.service) issue(['bearer', 'service'], 'is required');
    // With the built-in token service the realm is this registry's own /zot/auth/token.
    if (!bearer.realm && !tokenService) issue(['bearer', 'realm'], 'is required');
  } else if (bearer && !bearer.oidc?.length) {
    issue(['bearer', 'cert'], 'is required (or http.auth.tokenService, or bearer.oidc)');
  }
  if (tokenService && !bearer) issue(['tokenService'], 'needs http.auth.bearer (its service is the audience of the tokens)');
  const openid = auth.openid as { providers?: Record<string, Record<string, unknown>> } | undefined;
  for (const [name, provider] of Object.entries(openid?.providers ?? {})) {
    if (!(OPENID_PROVIDERS as readonly string[]).includes(name)) {
      issue(['openid', 'providers', name], `unknown provider (expected one of ${OPENID_PROVIDERS.join(', ')})`);
      continue;
    }
    if (!provider.clientid && !provider.credentialsFile)
      issue(['openid', 'providers', name, 'clientid'], 'is required (or credentialsFile)');
    if (name !== 'github' && !provider.issuer) issue(['openid', 'providers', name, 'issuer'], 'is required');
  }
  const driver = auth.sessionDriver as { name?: string; url?: string } | undefined;
  if (driver?.name?.toLowerCase() === 'redis' && !driver.url) issue(['sessionDriver', 'url'], 'is required with the redis driver');
  if (driver?.name?.toLowerCase() === 'local' && driver.url) issue(['sessionDriver', 'url'], 'is only for the redis driver');
}

/** API keys must be revocable on every replica: replicas sharing an object store need Redis for them. */
export function checkSharedAuthState(
  config: { storage?: { storageDriver?: unknown } | undefined; http?: { auth?: Record<string, unknown> | undefined } | undefined },
  ctx: z.RefinementCtx,
): void {
  const auth = config.http?.auth;
  if (typeof auth !== 'object' || auth === null || !config.storage?.storageDriver) return;
  const driver = auth.sessionDriver as { name?: string } | undefined;
  if (driver?.name?.toLowerCase() === 'redis') return;
  const apiKeys = auth.apikey === true || (typeof auth.openid === 'object' && auth.openid !== null);
  if (apiKeys)
    ctx.addIssue({
      code: 'custom',
      path: ['http', 'auth', auth.apikey === true ? 'apikey' : 'openid'],
      message:
        'with storage.storageDriver (an object store replicas share) API keys must be shared too: set http.auth.sessionDriver to {"name": "redis", "url": ...}',
    });
}

export const externalUrl = text({
  pattern: /^https?:\/\/[^\s/]+(?:\/\S*)?$/i,
  patternHint: 'an http:// or https:// URL',
  description: 'the URL clients reach the registry at (behind a proxy): single sign-on callbacks and the token realm are made from it',
});

export type BearerConfig = z.output<typeof bearerSchema>;
export type TokenServiceConfig = z.output<typeof tokenServiceSchema>;
export type OpenIdConfig = z.output<typeof openIdSchema>;
export type SessionDriverConfig = z.output<typeof sessionDriverSchema>;
export type MtlsConfig = z.output<typeof mtlsSchema>;
