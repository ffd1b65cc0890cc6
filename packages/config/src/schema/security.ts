/**
 * zot's security keys under `http`: `tls`, `auth` (htpasswd, LDAP, mTLS) and `accessControl`,
 * implemented by @zotjs/auth. Optional strings written as "" mean "not set", as zot reads them.
 */
import { globSyntaxProblem } from '@zotjs/core';
import { z } from 'zod';
import { DURATION_PATTERN, parseSeconds } from '../duration.js';
import { authTokenKeys, tlsCiphers } from './auth-tokens.js';
import { describeValue, flag, list, map, oneOf, port, section, text, withTraits, type Common } from './kit.js';

export const ACTIONS = ['read', 'create', 'update', 'delete'] as const;

export const LDAP_DEFAULTS = {
  insecure: false,
  startTLS: false,
  skipVerify: false,
  subtreeSearch: false,
  userAttribute: 'uid',
  queryTimeout: 5,
} as const;
export const AUTH_DEFAULTS = { failDelay: 0 } as const;

/** A number of seconds (zot's auth keys): a number, a numeric string or a Go duration such as "2s". */
function seconds(options: Common & { positive?: boolean }): z.ZodUnion<readonly [z.ZodNumber, z.ZodString]> {
  const lead = `expected a ${options.positive ? 'positive' : 'non-negative'} number of seconds or a duration such as "2s"`;
  const error = (issue: { input?: unknown }): string => `${lead}, got ${describeValue(issue.input)}`;
  const positive = (value: number | string): boolean => !options.positive || parseSeconds(value) > 0;
  const number = options.positive ? z.number({ error }).gt(0, { error }) : z.number({ error }).min(0, { error });
  const text = z.string({ error }).regex(SECONDS_PATTERN, { error }).refine(positive, { error });
  return z.union([number, text], { error }).meta({
    ...(options.description ? { description: options.description } : {}),
    ...(options.default !== undefined ? { default: options.default } : {}),
  });
}

const SECONDS_PATTERN = new RegExp(`^\\s*(?:\\d+\\.?\\d*|\\.\\d+)\\s*$|${DURATION_PATTERN.source}`);

// An LDAP attribute name or OID; "" means the default.
const ATTRIBUTE_NAME = /^(?:|[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;

export const tlsSchema = section(
  {
    cert: text({ required: true, description: 'PEM server certificate (chain) file' }),
    key: text({ required: true, description: 'PEM private key file (unencrypted)' }),
    cacert: text({
      description:
        'PEM CA file: clients present certificates signed by it, which name the caller (the subject CN unless auth.mtls says otherwise). A valid certificate is required at the handshake unless another login (htpasswd, LDAP, tokens, API keys, single sign-on) is also configured (mixed mode)',
    }),
    ciphers: tlsCiphers,
  },
  { required: ['cert', 'key'], description: 'serve HTTPS (TLS 1.2 minimum); the files are re-read on SIGHUP' },
);

export const ldapSchema = section(
  {
    address: text({ required: true, description: 'LDAP server host name or IP address' }),
    port: port({ min: 1, description: 'port (default 636 for LDAPS, 389 otherwise)' }),
    insecure: flag({ default: LDAP_DEFAULTS.insecure, description: 'plain LDAP without TLS (unless startTLS); default LDAPS' }),
    startTLS: flag({ default: LDAP_DEFAULTS.startTLS, description: 'connect in plain LDAP and upgrade with StartTLS' }),
    skipVerify: flag({ default: LDAP_DEFAULTS.skipVerify, description: "do not verify the LDAP server's certificate (testing only)" }),
    caCert: text({ description: "PEM CA file for the LDAP server's certificate (default: Node's bundled roots)" }),
    baseDN: text({ required: true, description: 'where users are searched' }),
    userAttribute: text({
      pattern: ATTRIBUTE_NAME,
      patternHint: 'an attribute name',
      default: LDAP_DEFAULTS.userAttribute,
      description: 'attribute holding the login name',
    }),
    userFilter: text({
      pattern: /^(?:|\s*\(.*\)\s*)$/s,
      patternHint: 'a parenthesised LDAP filter, e.g. (objectClass=person)',
      description: 'extra filter AND-ed to the user search, e.g. (objectClass=person)',
    }),
    userGroupAttribute: text({
      pattern: ATTRIBUTE_NAME,
      patternHint: 'an attribute name',
      description: "attribute of the user's entry listing their groups, e.g. memberOf",
    }),
    subtreeSearch: flag({
      default: LDAP_DEFAULTS.subtreeSearch,
      description: 'search the whole subtree under baseDN (default: one level)',
    }),
    bindDN: text({ description: 'service account DN used for the user search' }),
    bindPassword: text({ secret: true, description: 'service account password (prefer credentialsFile)' }),
    credentialsFile: text({ description: 'JSON file {"bindDN": ..., "bindPassword": ...}; overrides bindDN and bindPassword' }),
    queryTimeout: seconds({
      positive: true,
      default: LDAP_DEFAULTS.queryTimeout,
      description: 'seconds allowed to connect and for each LDAP operation',
    }),
  },
  { required: ['address', 'baseDN'], description: 'LDAP login: bind as the service account, find the user, bind as the user' },
).superRefine(
  (ldap, ctx) => {
    if (typeof ldap !== 'object' || ldap === null) return;
    if (ldap.bindPassword && !ldap.bindDN && !ldap.credentialsFile)
      ctx.addIssue({ code: 'custom', path: ['bindPassword'], message: 'is set without bindDN' });
  },
  { when: () => true },
);

export const authSchema = section(
  {
    failDelay: seconds({ default: AUTH_DEFAULTS.failDelay, description: 'seconds a failed login waits before its 401' }),
    htpasswd: section(
      { path: text({ description: 'htpasswd file (bcrypt, apr1 or SHA-1 entries), reloaded when it changes; "" turns htpasswd off' }) },
      { description: 'HTTP basic logins from an htpasswd file' },
    ),
    ldap: ldapSchema,
    ...authTokenKeys,
  },
  {
    description:
      'authentication: HTTP basic against htpasswd, LDAP and API keys; bearer tokens; single sign-on; client certificates through tls.cacert',
  },
);

const actionList = (description: string) =>
  list(
    oneOf(ACTIONS, {
      anyCase: true,
      error: (value) => `unknown action ${JSON.stringify(value)} (expected one of ${ACTIONS.join(', ')})`,
    }),
    { description },
  );

const names = (description: string) => list(text(), { message: 'must be a list of names', description });

export const policySchema = section(
  {
    users: names('user names (htpasswd or LDAP login, or client certificate CN)'),
    groups: names('groups (from LDAP userGroupAttribute or accessControl.groups)'),
    actions: actionList('read (pull), create (push new content), update (move an existing tag), delete'),
  },
  { message: 'must be an object with users, groups and actions' },
);

export const repositoryPolicySchema = section(
  {
    policies: list(policySchema, { description: 'per-user and per-group grants' }),
    defaultPolicy: actionList('actions any authenticated user gets on matching repositories'),
    anonymousPolicy: actionList('actions callers without credentials get on matching repositories'),
  },
  {
    message: 'must be an object with policies, defaultPolicy or anonymousPolicy',
    description: 'who may do what on the repositories the glob matches',
  },
);

/** Repository glob -> policies; each glob is checked to be one (zot's doublestar syntax). */
const repositoriesSchema = map(repositoryPolicySchema, {
  description: 'repository glob (**, team/*, {a,b}) -> policies; the longest matching glob applies',
}).superRefine(
  (repositories, ctx) => {
    if (typeof repositories !== 'object' || repositories === null || Array.isArray(repositories)) return;
    for (const pattern of Object.keys(repositories)) {
      const problem = globSyntaxProblem(pattern);
      if (problem) ctx.addIssue({ code: 'custom', path: [pattern], message: `invalid repository glob "${pattern}": ${problem}` });
    }
  },
  { when: () => true },
);

export const accessControlSchema = withTraits(
  section(
    {
      repositories: repositoriesSchema,
      adminPolicy: policySchema.meta({ description: 'users and groups granted these actions on every repository' }),
      groups: map(section({ users: names('members of the group') }, { message: 'must be an object with users', description: 'a group' }), {
        description: 'group name -> {"users": [...]}, for backends without groups (htpasswd, mTLS)',
      }),
      metrics: section(
        { users: names('who may scrape /metrics (with auth on; default: any authenticated user)') },
        { description: "zot's metrics access list" },
      ),
    },
    {
      description:
        'per-repository authorization (zot format). Without it, any authenticated user may do anything. The older layout with the globs directly here (no "repositories") is accepted too',
    },
  ),
  // zot's older layout puts the repository globs directly in accessControl.
  { collectInto: 'repositories' },
);

/** `auth.mtls` is zot's way of saying "client certificates"; they need the CA that signs them. */
export function checkSecurity(
  http: { tls?: { cacert?: string | undefined } | undefined; auth?: { mtls?: unknown } | undefined },
  ctx: z.RefinementCtx,
): void {
  const auth = http.auth as Record<string, unknown> | undefined;
  const tls = http.tls as Record<string, unknown> | undefined;
  if (typeof auth !== 'object' || auth === null || auth.mtls === undefined) return;
  if (typeof tls !== 'object' || tls === null || !tls.cacert) {
    ctx.addIssue({ code: 'custom', path: ['auth', 'mtls'], message: 'needs http.tls.cacert (the CA that signs client certificates)' });
  }
}

export function checkRealm(realm: string, ctx: z.RefinementCtx): void {
  if (/["\\\r\n]/.test(realm)) ctx.addIssue({ code: 'custom', message: 'must not contain quotes, backslashes or line breaks' });
}
