/**
 * Builds the registry's security from a zot `http` config section: the authenticator (htpasswd,
 * LDAP, client certificates, or a mix), the authorizer (accessControl, or "any logged-in user"),
 * and the TLS material for the HTTPS server.
 */
import { readFile } from 'node:fs/promises';
import { validateSection, type HttpConfig } from '@zotjs/config';
import type { Authenticator, Authorizer, Logger, RouteDefinition } from '@zotjs/core';
import { CertificateOrPasswordAuthenticator } from './composite.js';
import { resolveSecurityConfig, SecurityConfigError, type LdapConfig, type SecurityConfig } from './config.js';
import { CredentialCache } from './credential-cache.js';
import { FailureLimiter, type FailureLimiterOptions } from './failure-limiter.js';
import { HtpasswdFile } from './htpasswd/file.js';
import { LdapVerifier, type LdapTransport } from './ldap/verifier.js';
import { CertificateIdentity, MtlsAuthenticator } from './mtls.js';
import { PasswordAuthenticator } from './password-authenticator.js';
import { AccessControlAuthorizer, AuthenticatedOnlyAuthorizer } from './policy/access-control.js';
import { TlsMaterial } from './tls.js';
import type { TokenAuth } from './token-auth.js';
import type { PasswordVerifier } from './verifier.js';

export interface SecurityOptions {
  logger?: Logger;
  /** The realm when `http.realm` is not set (default `Authorization Required`, zot's; zot-cli passes `zot`). */
  realm?: string;
  /** Tuning of the per-address brute-force protection (failDelay comes from the config). */
  limiter?: Omit<FailureLimiterOptions, 'failDelaySeconds'>;
  /** How often the htpasswd file is checked for changes (default 1000 ms). */
  htpasswdCheckIntervalMs?: number;
  /** How long a verified htpasswd login is cached (default 5 min; a file change drops it). */
  htpasswdCacheTtlMs?: number;
  /** How long a verified LDAP login is cached (default 60 s). */
  ldapCacheTtlMs?: number;
  /** The storage root: local API keys (`_apikeys/`) and sessions (`_sessions/`) live there; without it they need Redis. */
  dataDirectory?: string;
  /** The listener's URL (single sign-on callbacks and the token realm where `http.externalUrl` is not set). */
  listenUrl?: string;
}

export interface Security {
  readonly config: SecurityConfig;
  readonly authenticator?: Authenticator;
  readonly authorizer?: Authorizer;
  /** Present when `http.tls` is configured: serve HTTPS with `tls.serverOptions()`, reload on SIGHUP. */
  readonly tls?: TlsMaterial;
  /** Endpoints of the token service, API keys and single sign-on (`/zot/auth/...`), for the server's route table. */
  readonly routes: readonly RouteDefinition[];
  /** Closes LDAP connections and forgets cached logins. */
  close(): Promise<void>;
}

/**
 * Builds the security of an `http` section as written in a config file: validated by
 * @zotjs/config first (throws {@link SecurityConfigError} with every problem and its key path).
 */
export async function createSecurityFromConfig(http: unknown, options: SecurityOptions = {}): Promise<Security> {
  const result = validateSection('http', http);
  if (!result.ok) throw new SecurityConfigError(result.issues);
  return createSecurity(result.value, options);
}

/** Builds the security of an `http` section that @zotjs/config has validated (zot-cli's path). */
export function createSecurity(http: HttpConfig | undefined, options: SecurityOptions = {}): Promise<Security> {
  return buildSecurity(resolveSecurityConfig(http, options.realm), http, options);
}

async function buildSecurity(config: SecurityConfig, http: HttpConfig | undefined, options: SecurityOptions): Promise<Security> {
  const { logger } = options;
  const auth = config.auth;
  const verifiers: PasswordVerifier[] = [];
  let tokenAuth: TokenAuth | undefined;
  const close = async (): Promise<void> => {
    await Promise.all([...verifiers.map((v) => v.close?.()), tokenAuth?.close()]);
  };

  try {
    if (auth?.htpasswd) {
      verifiers.push(
        await HtpasswdFile.open(auth.htpasswd.path, {
          ...(logger ? { logger } : {}),
          ...(options.htpasswdCheckIntervalMs !== undefined ? { checkIntervalMs: options.htpasswdCheckIntervalMs } : {}),
          ...(options.htpasswdCacheTtlMs !== undefined ? { cacheTtlMs: options.htpasswdCacheTtlMs } : {}),
        }),
      );
    }
    if (auth?.ldap) verifiers.push(await createLdapVerifier(auth.ldap, options));

    const passwordLogin = verifiers.length > 0;
    // Client certificates are required at the handshake only when nothing else can log a caller in (zot's mixed mode otherwise).
    const otherLogins = passwordLogin || auth?.tokens !== undefined;
    const tls = config.tls
      ? new TlsMaterial(config.tls, {
          requireClientCertificate: !otherLogins,
          ...(config.tls.ciphers ? { ciphers: config.tls.ciphers.join(':') } : {}),
          ...(logger ? { logger } : {}),
        })
      : undefined;
    const certificates = new CertificateIdentity(auth?.mtls ?? {});
    const wrapCertificates = (front: Authenticator): Authenticator =>
      tls?.requestCert ? new CertificateOrPasswordAuthenticator(front, certificates) : front;

    let authorizer: Authorizer | undefined;
    if (config.accessControl) authorizer = new AccessControlAuthorizer(config.accessControl);
    else if (otherLogins || tls?.requestCert) authorizer = new AuthenticatedOnlyAuthorizer();

    const limiter = new FailureLimiter({ ...options.limiter, failDelaySeconds: auth?.failDelay ?? 0 });
    const password = passwordLogin
      ? new PasswordAuthenticator({ verifiers, realm: config.realm, limiter, cache: new CredentialCache(), ...(logger ? { logger } : {}) })
      : undefined;

    let authenticator: Authenticator | undefined;
    const routes: RouteDefinition[] = [];
    if (http?.auth && (auth?.tokens || (password && options.dataDirectory))) {
      // Tokens, API keys, single sign-on and browser sessions around the password check.
      // Loaded on use: its libraries (JOSE, OpenID client, Redis, CEL) cost startup time a password-only registry need not pay.
      const { createTokenAuth } = await import('./token-auth.js');
      tokenAuth = await createTokenAuth({
        auth: http.auth,
        realm: config.realm,
        ...(http.externalUrl ? { externalUrl: http.externalUrl } : {}),
        listenUrl: options.listenUrl ?? `${tls ? 'https' : 'http'}://${http.address ?? '127.0.0.1'}:${http.port ?? 5000}`,
        tls: tls !== undefined,
        ...(options.dataDirectory ? { dataDirectory: options.dataDirectory } : {}),
        ...(password ? { basic: password } : {}),
        wrapCertificates,
        ...(authorizer ? { authorizer } : {}),
        limiter,
        ...(logger ? { logger } : {}),
      });
      authenticator = tokenAuth.authenticator;
      routes.push(...tokenAuth.routes);
    } else if (password) {
      authenticator = wrapCertificates(password);
    } else if (tls?.requestCert) {
      authenticator = new MtlsAuthenticator({ realm: config.realm, identity: certificates });
    }
    if (password && !tls) logger?.warn({}, 'password authentication is on without http.tls: credentials travel in clear text');

    logger?.info(
      {
        tls: tls
          ? tls.rejectUnauthorized
            ? 'mutual (client certificate required)'
            : tls.requestCert
              ? 'mutual or password'
              : 'server only'
          : 'off',
        authentication: [...verifiers.map((v) => v.name), ...(tls?.requestCert ? ['mtls'] : []), ...(tokenAuth?.summary ?? [])],
        accessControl: config.accessControl !== undefined,
      },
      'security configured',
    );

    return {
      config,
      ...(authenticator ? { authenticator } : {}),
      ...(authorizer ? { authorizer } : {}),
      ...(tls ? { tls } : {}),
      routes,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function createLdapVerifier(ldap: LdapConfig, options: SecurityOptions): Promise<LdapVerifier> {
  let { bindDN, bindPassword } = ldap;
  if (ldap.credentialsFile) {
    const credentials = await readLdapCredentials(ldap.credentialsFile);
    bindDN = credentials.bindDN;
    bindPassword = credentials.bindPassword;
  }
  // zot: `insecure` means no TLS unless `startTLS` upgrades; by default LDAPS. `startTLS` alone
  // also means StartTLS here (zot would dial LDAPS and ignore it, which never works on port 389).
  const transport: LdapTransport = ldap.startTLS ? 'starttls' : ldap.insecure ? 'plain' : 'ldaps';
  return new LdapVerifier({
    address: ldap.address,
    ...(ldap.port !== undefined ? { port: ldap.port } : {}),
    transport,
    ...(ldap.caCert ? { ca: await readFile(ldap.caCert, 'utf8') } : {}),
    skipVerify: ldap.skipVerify,
    baseDN: ldap.baseDN,
    userAttribute: ldap.userAttribute,
    ...(ldap.userFilter ? { userFilter: ldap.userFilter } : {}),
    ...(ldap.userGroupAttribute ? { userGroupAttribute: ldap.userGroupAttribute } : {}),
    subtreeSearch: ldap.subtreeSearch,
    ...(bindDN ? { bindDN } : {}),
    ...(bindPassword !== undefined ? { bindPassword } : {}),
    timeoutMs: Math.round(ldap.queryTimeout * 1000),
    ...(options.ldapCacheTtlMs !== undefined ? { cacheTtlMs: options.ldapCacheTtlMs } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

/** zot's LDAP credentials file: `{ "bindDN": "...", "bindPassword": "..." }`. */
async function readLdapCredentials(path: string): Promise<{ bindDN?: string; bindPassword?: string }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    // Never echo the file's content: it holds a password.
    const why = (err as { code?: string }).code ?? (err instanceof SyntaxError ? 'not valid JSON' : 'unreadable');
    throw new Error(`cannot read the LDAP credentials file ${path} (${why})`);
  }
  const entries = Object.entries(typeof parsed === 'object' && parsed !== null ? parsed : {});
  const get = (key: string): string | undefined => {
    const value = entries.find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
    return typeof value === 'string' ? value : undefined;
  };
  const bindDN = get('bindDN');
  const bindPassword = get('bindPassword');
  if (!bindDN) throw new Error(`the LDAP credentials file ${path} has no bindDN`);
  return { bindDN, ...(bindPassword !== undefined ? { bindPassword } : {}) };
}
