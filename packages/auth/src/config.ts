/**
 * The security part of a zot config file (`http.tls`, `http.auth`, `http.accessControl`,
 * `http.realm`), read the way zot reads it: keys are matched case-insensitively (zot's config
 * loader lowercases them), and both accessControl layouts are accepted (the current one with a
 * `repositories` map and the older one keyed by repository globs directly).
 */
import type { Action } from '@zotjs/core';
import { globToRegExp } from '@zotjs/core';
import { GROUP_SCHEMA, POLICY_SCHEMA, REPOSITORY_POLICY_SCHEMA, securityConfigSchema, type SchemaNode } from './schema.js';

export interface TlsConfig {
  cert: string;
  key: string;
  /** CA that signs client certificates: when set, clients may (or must) present one. */
  cacert?: string;
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
  /** zot's `auth.mtls.identityAttributes`; only `CommonName` is supported. */
  mtls?: { identityAttributes: string[] };
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
}

export interface SecurityConfig {
  realm: string;
  tls?: TlsConfig;
  auth?: AuthConfig;
  accessControl?: AccessControlConfig;
}

export const ACTIONS: readonly Action[] = ['read', 'create', 'update', 'delete'];
export const DEFAULT_REALM = 'Authorization Required';
export const DEFAULT_LDAP_QUERY_TIMEOUT = 5;

/** A problem in the config: the dotted path of the offending key and what is wrong. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class SecurityConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid security configuration: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'SecurityConfigError';
  }
}

type Obj = Record<string, unknown>;

const isObject = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Case-insensitive key lookup, as zot's loader does. */
function pick(obj: Obj, key: string): unknown {
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

class Reader {
  readonly problems: ConfigProblem[] = [];

  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** Reports keys the schema does not know (matched case-insensitively, like the values). */
  knownKeys(obj: Obj, path: string, node: SchemaNode | undefined): void {
    const known = Object.keys(node?.properties ?? {}).map((k) => k.toLowerCase());
    for (const key of Object.keys(obj)) {
      if (!known.includes(key.toLowerCase())) this.add(`${path}.${key}`, 'unknown key (not supported by zot-ts)');
    }
  }

  string(obj: Obj, key: string, path: string, required: true): string;
  string(obj: Obj, key: string, path: string, required?: false): string | undefined;
  string(obj: Obj, key: string, path: string, required = false): string | undefined {
    const value = pick(obj, key);
    if (value === undefined || value === null || value === '') {
      if (required) this.add(`${path}.${key}`, `is required`);
      return undefined;
    }
    if (typeof value !== 'string') {
      this.add(`${path}.${key}`, `must be a string`);
      return undefined;
    }
    return value;
  }

  boolean(obj: Obj, key: string, path: string): boolean {
    const value = pick(obj, key);
    if (value === undefined || value === null) return false;
    if (typeof value !== 'boolean') {
      this.add(`${path}.${key}`, `must be true or false`);
      return false;
    }
    return value;
  }

  /** A non-negative number; zot's config also allows numeric strings and Go durations ("5s"). */
  seconds(obj: Obj, key: string, path: string, fallback: number): number {
    const value = pick(obj, key);
    if (value === undefined || value === null || value === '') return fallback;
    const parsed = typeof value === 'number' ? value : typeof value === 'string' ? parseDuration(value) : NaN;
    if (!Number.isFinite(parsed) || parsed < 0) {
      this.add(`${path}.${key}`, `must be a non-negative number of seconds`);
      return fallback;
    }
    return parsed;
  }

  port(obj: Obj, key: string, path: string): number | undefined {
    const value = pick(obj, key);
    if (value === undefined || value === null || value === '') return undefined;
    const port = typeof value === 'string' ? Number(value) : value;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      this.add(`${path}.${key}`, `must be a port number (1-65535)`);
      return undefined;
    }
    return port;
  }

  strings(obj: Obj, key: string, path: string): string[] {
    const value = pick(obj, key);
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      this.add(`${path}.${key}`, `must be a list of strings`);
      return [];
    }
    return value as string[];
  }

  actions(obj: Obj, key: string, path: string): Action[] {
    const list = this.strings(obj, key, path);
    const actions: Action[] = [];
    for (const entry of list) {
      const action = entry.toLowerCase();
      if ((ACTIONS as readonly string[]).includes(action)) actions.push(action as Action);
      else this.add(`${path}.${key}`, `unknown action "${entry}" (expected one of ${ACTIONS.join(', ')})`);
    }
    return actions;
  }

  object(obj: Obj, key: string, path: string): Obj | undefined {
    const value = pick(obj, key);
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) {
      this.add(`${path}.${key}`, `must be an object`);
      return undefined;
    }
    return value;
  }
}

/** Go-style durations as zot accepts them ("5s", "1m30s", "250ms"); a bare number is seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let total = 0;
  let rest = trimmed;
  const part = /^(\d+(?:\.\d+)?)(ms|s|m|h)/;
  if (rest === '') return NaN;
  while (rest !== '') {
    const match = part.exec(rest);
    if (!match) return NaN;
    total += Number(match[1]) * units[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}

/**
 * Reads the security keys of a zot `http` section. Throws {@link SecurityConfigError} listing
 * every problem found (not only the first), so `verify` can show them all at once.
 */
export function parseSecurityConfig(http: unknown): SecurityConfig {
  const problems = validateSecurityConfig(http);
  if (problems.length > 0) throw new SecurityConfigError(problems);
  return readSecurityConfig(http).config;
}

/** The problems in a zot `http` section's security keys (empty when it is valid). */
export function validateSecurityConfig(http: unknown): ConfigProblem[] {
  return readSecurityConfig(http).problems;
}

function readSecurityConfig(http: unknown): { config: SecurityConfig; problems: ConfigProblem[] } {
  const r = new Reader();
  const config: SecurityConfig = { realm: DEFAULT_REALM };
  if (http === undefined || http === null) return { config, problems: [] };
  if (!isObject(http)) return { config, problems: [{ path: 'http', message: 'must be an object' }] };
  const schema = securityConfigSchema.properties;

  const realm = r.string(http, 'realm', 'http');
  if (realm !== undefined) {
    if (/["\\\r\n]/.test(realm)) r.add('http.realm', 'must not contain quotes, backslashes or line breaks');
    else config.realm = realm;
  }

  const tls = r.object(http, 'tls', 'http');
  if (tls) {
    r.knownKeys(tls, 'http.tls', schema.tls);
    const cert = r.string(tls, 'cert', 'http.tls', true);
    const key = r.string(tls, 'key', 'http.tls', true);
    const cacert = r.string(tls, 'cacert', 'http.tls');
    if (cert && key) config.tls = { cert, key, ...(cacert ? { cacert } : {}) };
  }

  const auth = r.object(http, 'auth', 'http');
  if (auth) config.auth = readAuth(r, auth);

  const accessControl = r.object(http, 'accessControl', 'http');
  if (accessControl) config.accessControl = readAccessControl(r, accessControl);

  if (config.auth?.mtls && !config.tls?.cacert) {
    r.add('http.auth.mtls', 'needs http.tls.cacert (the CA that signs client certificates)');
  }
  return { config, problems: r.problems };
}

function readAuth(r: Reader, auth: Obj): AuthConfig {
  const schema = securityConfigSchema.properties.auth;
  r.knownKeys(auth, 'http.auth', schema);
  const result: AuthConfig = { failDelay: r.seconds(auth, 'failDelay', 'http.auth', 0) };
  const htpasswd = r.object(auth, 'htpasswd', 'http.auth');
  if (htpasswd) {
    r.knownKeys(htpasswd, 'http.auth.htpasswd', schema?.properties?.htpasswd);
    // zot treats an empty path as "htpasswd off".
    const path = r.string(htpasswd, 'path', 'http.auth.htpasswd');
    if (path) result.htpasswd = { path };
  }
  const ldap = r.object(auth, 'ldap', 'http.auth');
  if (ldap) {
    r.knownKeys(ldap, 'http.auth.ldap', schema?.properties?.ldap);
    result.ldap = readLdap(r, ldap);
  }
  const mtls = r.object(auth, 'mtls', 'http.auth');
  if (mtls) {
    r.knownKeys(mtls, 'http.auth.mtls', schema?.properties?.mtls);
    const identityAttributes = r.strings(mtls, 'identityAttributes', 'http.auth.mtls');
    for (const attribute of identityAttributes) {
      if (attribute.toLowerCase() !== 'commonname') {
        r.add('http.auth.mtls.identityAttributes', `"${attribute}" is not supported (only CommonName)`);
      }
    }
    result.mtls = { identityAttributes: identityAttributes.length ? identityAttributes : ['CommonName'] };
  }
  return result;
}

const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;

function readLdap(r: Reader, ldap: Obj): LdapConfig {
  const path = 'http.auth.ldap';
  const config: LdapConfig = {
    address: r.string(ldap, 'address', path, true) ?? '',
    insecure: r.boolean(ldap, 'insecure', path),
    startTLS: r.boolean(ldap, 'startTLS', path),
    skipVerify: r.boolean(ldap, 'skipVerify', path),
    baseDN: r.string(ldap, 'baseDN', path, true) ?? '',
    userAttribute: r.string(ldap, 'userAttribute', path) ?? 'uid',
    subtreeSearch: r.boolean(ldap, 'subtreeSearch', path),
    queryTimeout: r.seconds(ldap, 'queryTimeout', path, DEFAULT_LDAP_QUERY_TIMEOUT),
  };
  const port = r.port(ldap, 'port', path);
  if (port !== undefined) config.port = port;
  const optional = ['caCert', 'userFilter', 'userGroupAttribute', 'bindDN', 'bindPassword', 'credentialsFile'] as const;
  for (const key of optional) {
    const value = r.string(ldap, key, path);
    if (value !== undefined) config[key] = value;
  }
  if (!ATTRIBUTE_NAME.test(config.userAttribute)) r.add(`${path}.userAttribute`, 'is not an attribute name');
  if (config.userGroupAttribute !== undefined && !ATTRIBUTE_NAME.test(config.userGroupAttribute)) {
    r.add(`${path}.userGroupAttribute`, 'is not an attribute name');
  }
  if (config.userFilter !== undefined && !/^\(.*\)$/s.test(config.userFilter.trim())) {
    r.add(`${path}.userFilter`, 'must be a parenthesised LDAP filter, e.g. (objectClass=person)');
  }
  if (config.queryTimeout === 0) r.add(`${path}.queryTimeout`, 'must be more than 0');
  if (config.bindPassword !== undefined && config.bindDN === undefined && config.credentialsFile === undefined) {
    r.add(`${path}.bindPassword`, 'is set without bindDN');
  }
  return config;
}

const ACCESS_CONTROL_RESERVED = new Set(['repositories', 'adminpolicy', 'groups', 'metrics']);

function readAccessControl(r: Reader, accessControl: Obj): AccessControlConfig {
  const path = 'http.accessControl';
  const schema = securityConfigSchema.properties.accessControl;
  const result: AccessControlConfig = {
    repositories: {},
    adminPolicy: { users: [], groups: [], actions: [] },
    groups: {},
  };
  const repositories = r.object(accessControl, 'repositories', path);
  // Older zot configs put the repository globs directly under accessControl.
  const source: Obj =
    repositories ?? Object.fromEntries(Object.entries(accessControl).filter(([k]) => !ACCESS_CONTROL_RESERVED.has(k.toLowerCase())));
  const sourcePath = repositories ? `${path}.repositories` : path;
  if (repositories) r.knownKeys(accessControl, path, schema);
  for (const [pattern, value] of Object.entries(source)) {
    const at = `${sourcePath}["${pattern}"]`;
    try {
      globToRegExp(pattern);
    } catch (err) {
      r.add(at, (err as Error).message);
    }
    if (!isObject(value)) {
      r.add(at, 'must be an object with policies, defaultPolicy or anonymousPolicy');
      continue;
    }
    r.knownKeys(value, at, REPOSITORY_POLICY_SCHEMA);
    const policies = pick(value, 'policies');
    const list: PolicyConfig[] = [];
    if (policies !== undefined && policies !== null) {
      if (!Array.isArray(policies)) r.add(`${at}.policies`, 'must be a list');
      else policies.forEach((policy, i) => list.push(readPolicy(r, policy, `${at}.policies[${i}]`)));
    }
    result.repositories[pattern] = {
      policies: list,
      defaultPolicy: r.actions(value, 'defaultPolicy', at),
      anonymousPolicy: r.actions(value, 'anonymousPolicy', at),
    };
  }
  const admin = pick(accessControl, 'adminPolicy');
  if (admin !== undefined && admin !== null) result.adminPolicy = readPolicy(r, admin, `${path}.adminPolicy`);
  const groups = r.object(accessControl, 'groups', path);
  for (const [name, group] of Object.entries(groups ?? {})) {
    const at = `${path}.groups["${name}"]`;
    if (!isObject(group)) {
      r.add(at, 'must be an object with users');
      continue;
    }
    r.knownKeys(group, at, GROUP_SCHEMA);
    result.groups[name] = { users: r.strings(group, 'users', at) };
  }
  return result;
}

function readPolicy(r: Reader, policy: unknown, at: string): PolicyConfig {
  if (!isObject(policy)) {
    r.add(at, 'must be an object with users, groups and actions');
    return { users: [], groups: [], actions: [] };
  }
  r.knownKeys(policy, at, POLICY_SCHEMA);
  return {
    users: r.strings(policy, 'users', at),
    groups: r.strings(policy, 'groups', at),
    actions: r.actions(policy, 'actions', at),
  };
}
