/**
 * The security part of a zot config (`http.tls`, `http.auth`, `http.accessControl`, `http.realm`)
 * as @zotjs/auth runs it: the `http` section validated by @zotjs/config (the one schema of the
 * config file: key paths in errors, zot's case-insensitive keys, both accessControl layouts),
 * resolved here with zot's defaults into the shapes the building blocks take.
 */
import type { Action } from '@zotjs/core';
import type { CertificateIdentityOptions } from './mtls.js';
import { LDAP_DEFAULTS, parseSeconds, validateSection, type ConfigIssue, type HttpConfig } from '@zotjs/config';

export interface TlsConfig {
  cert: string;
  key: string;
  /** CA that signs client certificates: when set, clients may (or must) present one. */
  cacert?: string;
  /** OpenSSL cipher suite names (`http.tls.ciphers`); default {@link DEFAULT_CIPHERS}. */
  ciphers?: string[];
}

export interface LdapConfig {
  address: string;
  port?: number;
  /** zot: plain LDAP (no TLS) unless `startTLS` upgrades it. Default false: LDAPS. */
  insecure: boolean;
  /** Upgrade a plain connection with the StartTLS extended operation. */
  startTLS: boolean;
  /** Do not verify the LDAP server's certificate (testing only). */
  skipVerify: boolean;
  /** CA file that signs the LDAP server's certificate (default: Node's bundled roots). */
  caCert?: string;
  baseDN: string;
  userAttribute: string;
  /** Extra filter AND-ed to the user search, e.g. `(objectClass=inetOrgPerson)`. */
  userFilter?: string;
  /** Attribute of the user entry listing the user's groups, e.g. `memberOf`. */
  userGroupAttribute?: string;
  subtreeSearch: boolean;
  bindDN?: string;
  bindPassword?: string;
  /** JSON file `{ "bindDN": ..., "bindPassword": ... }` (keeps the secret out of the main config). */
  credentialsFile?: string;
  /** Seconds allowed for connecting and for each LDAP operation. */
  queryTimeout: number;
}

export interface AuthConfig {
  htpasswd?: { path: string };
  ldap?: LdapConfig;
  /** Seconds a failed login waits before its 401. */
  failDelay: number;
  /** Token and single sign-on logins are on (`bearer`, `tokenService`, `openid`); API keys (`apikey`, or with openid). */
  tokens?: { bearer: boolean; openid: boolean; apikey: boolean };
  /** zot's `auth.mtls`: which certificate field names the caller. */
  mtls?: CertificateIdentityOptions;
}

export interface PolicyConfig {
  users: string[];
  groups: string[];
  actions: Action[];
}

export interface RepositoryPolicyConfig {
  policies: PolicyConfig[];
  defaultPolicy: Action[];
  anonymousPolicy: Action[];
}

export interface AccessControlConfig {
  repositories: Record<string, RepositoryPolicyConfig>;
  adminPolicy: PolicyConfig;
  /** Group name -> members, for users whose backend has no groups (htpasswd, mTLS). */
  groups: Record<string, { users: string[] }>;
  /** zot's `accessControl.metrics.users`: who may scrape metrics when auth is on (absent: any user). */
  metrics?: { users: string[] };
}

export interface SecurityConfig {
  realm: string;
  tls?: TlsConfig;
  auth?: AuthConfig;
  accessControl?: AccessControlConfig;
}

export { ACTIONS } from '@zotjs/config';
/** The realm when neither `http.realm` nor the caller gives one (zot's). zot-cli's default is `zot`. */
export const DEFAULT_REALM = 'Authorization Required';
export const DEFAULT_LDAP_QUERY_TIMEOUT = LDAP_DEFAULTS.queryTimeout;

/** A problem in the config: the dotted path of the offending key and what is wrong. */
export type ConfigProblem = ConfigIssue;

export class SecurityConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid security configuration: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'SecurityConfigError';
  }
}

/** The problems in a zot `http` section as written in a config file (empty when it is valid). */
export function validateSecurityConfig(http: unknown): ConfigProblem[] {
  const result = validateSection('http', http);
  return result.ok ? [] : result.issues;
}

/**
 * Validates a zot `http` section as written in a config file and resolves its security keys.
 * Throws {@link SecurityConfigError} listing every problem found (not only the first).
 */
export function parseSecurityConfig(http: unknown, defaultRealm = DEFAULT_REALM): SecurityConfig {
  const result = validateSection('http', http);
  if (!result.ok) throw new SecurityConfigError(result.issues);
  return resolveSecurityConfig(result.value, defaultRealm);
}

/** The security settings of a validated `http` section, with zot's defaults ("" means "not set"). */
export function resolveSecurityConfig(http: HttpConfig | undefined, defaultRealm = DEFAULT_REALM): SecurityConfig {
  const config: SecurityConfig = { realm: http?.realm || defaultRealm };
  const tls = http?.tls;
  if (tls)
    config.tls = {
      cert: tls.cert,
      key: tls.key,
      ...(tls.cacert ? { cacert: tls.cacert } : {}),
      ...(tls.ciphers?.length ? { ciphers: tls.ciphers } : {}),
    };
  if (http?.auth) config.auth = resolveAuth(http.auth);
  if (http?.accessControl) config.accessControl = resolveAccessControl(http.accessControl);
  return config;
}

type Written<K extends keyof NonNullable<HttpConfig>> = NonNullable<NonNullable<HttpConfig>[K]>;

function resolveAuth(auth: Written<'auth'>): AuthConfig {
  const result: AuthConfig = { failDelay: auth.failDelay === undefined ? 0 : parseSeconds(auth.failDelay) };
  // zot treats an empty path as "htpasswd off".
  if (auth.htpasswd?.path) result.htpasswd = { path: auth.htpasswd.path };
  if (auth.ldap) result.ldap = resolveLdap(auth.ldap);
  const openid = Object.keys(auth.openid?.providers ?? {}).length > 0;
  const bearer = auth.bearer !== undefined || auth.tokenService !== undefined;
  if (bearer || openid || auth.apikey === true) result.tokens = { bearer, openid, apikey: auth.apikey === true || openid };
  if (auth.mtls) {
    const { identityAttributes = [], uriSanPattern, uriSanIndex, dnsSanIndex, emailSanIndex } = auth.mtls;
    result.mtls = {
      identityAttributes: identityAttributes.length > 0 ? identityAttributes : ['CommonName'],
      ...(uriSanPattern ? { uriSanPattern } : {}),
      ...(uriSanIndex !== undefined ? { uriSanIndex } : {}),
      ...(dnsSanIndex !== undefined ? { dnsSanIndex } : {}),
      ...(emailSanIndex !== undefined ? { emailSanIndex } : {}),
    };
  }
  return result;
}

function resolveLdap(ldap: NonNullable<Written<'auth'>['ldap']>): LdapConfig {
  const config: LdapConfig = {
    address: ldap.address,
    insecure: ldap.insecure ?? LDAP_DEFAULTS.insecure,
    startTLS: ldap.startTLS ?? LDAP_DEFAULTS.startTLS,
    skipVerify: ldap.skipVerify ?? LDAP_DEFAULTS.skipVerify,
    baseDN: ldap.baseDN,
    userAttribute: ldap.userAttribute || LDAP_DEFAULTS.userAttribute,
    subtreeSearch: ldap.subtreeSearch ?? LDAP_DEFAULTS.subtreeSearch,
    queryTimeout: ldap.queryTimeout === undefined ? LDAP_DEFAULTS.queryTimeout : parseSeconds(ldap.queryTimeout),
  };
  if (ldap.port !== undefined) config.port = Number(ldap.port);
  for (const key of ['caCert', 'userFilter', 'userGroupAttribute', 'bindDN', 'bindPassword', 'credentialsFile'] as const) {
    const value = ldap[key];
    if (value) config[key] = value;
  }
  return config;
}

function resolveAccessControl(accessControl: Written<'accessControl'>): AccessControlConfig {
  type WrittenPolicy = { users?: string[] | undefined; groups?: string[] | undefined; actions?: Action[] | undefined } | undefined;
  const policy = (p: WrittenPolicy): PolicyConfig => ({ users: p?.users ?? [], groups: p?.groups ?? [], actions: p?.actions ?? [] });
  const repositories: Record<string, RepositoryPolicyConfig> = {};
  for (const [pattern, group] of Object.entries(accessControl.repositories ?? {})) {
    repositories[pattern] = {
      policies: (group.policies ?? []).map(policy),
      defaultPolicy: group.defaultPolicy ?? [],
      anonymousPolicy: group.anonymousPolicy ?? [],
    };
  }
  const groups: Record<string, { users: string[] }> = {};
  for (const [name, group] of Object.entries(accessControl.groups ?? {})) groups[name] = { users: group.users ?? [] };
  return {
    repositories,
    adminPolicy: policy(accessControl.adminPolicy),
    groups,
    ...(accessControl.metrics ? { metrics: { users: accessControl.metrics.users ?? [] } } : {}),
  };
}

/** What the security setup means for the rest of the server (which endpoints need a login, and whose). */
export interface SecuritySummary {
  /** Callers must authenticate: a password backend (htpasswd, LDAP), API keys, tokens, single sign-on or client certificates are on. */
  authentication: boolean;
  /** HTTP basic logins are checked (htpasswd, LDAP or API keys). */
  passwordLogin: boolean;
  /** Client certificates signed by `tls.cacert` identify callers. */
  clientCertificates: boolean;
  /** zot's `accessControl.metrics.users`: who may scrape metrics; absent means any authenticated caller. */
  metricsUsers?: string[];
}

export function summarizeSecurity(config: SecurityConfig): SecuritySummary {
  const tokens = config.auth?.tokens;
  const passwordLogin = config.auth?.htpasswd !== undefined || config.auth?.ldap !== undefined || tokens?.apikey === true;
  const clientCertificates = config.tls?.cacert !== undefined;
  const metricsUsers = config.accessControl?.metrics?.users;
  return {
    authentication: passwordLogin || clientCertificates || tokens?.bearer === true || tokens?.openid === true,
    passwordLogin,
    clientCertificates,
    ...(metricsUsers ? { metricsUsers } : {}),
  };
}
