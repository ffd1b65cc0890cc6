/**
 * A description of the security keys of zot's `http` section, for `zot-cli verify` and the docs:
 * a JSON Schema (draft 2020-12 subset) fragment. Semantic checks that a schema cannot express
 * (glob syntax, actions, attribute names) are in {@link validateSecurityConfig}.
 */

export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'boolean' | 'number' | 'integer' | Array<'string' | 'number' | 'integer'>;
  description?: string;
  default?: unknown;
  enum?: readonly string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  required?: readonly string[];
  /** The value is a secret: never print it. */
  secret?: boolean;
}

const actions: SchemaNode = {
  type: 'array',
  items: { type: 'string', enum: ['read', 'create', 'update', 'delete'] },
  description: 'Actions: read (pull), create (push new content), update (move an existing tag), delete.',
};

export const POLICY_SCHEMA: SchemaNode = {
  type: 'object',
  properties: {
    users: { type: 'array', items: { type: 'string' }, description: 'User names (htpasswd/LDAP user, or client certificate CN).' },
    groups: { type: 'array', items: { type: 'string' }, description: 'Groups (from LDAP userGroupAttribute or accessControl.groups).' },
    actions,
  },
  additionalProperties: false,
};

export const REPOSITORY_POLICY_SCHEMA: SchemaNode = {
  type: 'object',
  properties: {
    policies: { type: 'array', items: POLICY_SCHEMA, description: 'Per-user and per-group grants.' },
    defaultPolicy: { ...actions, description: 'Actions any authenticated user gets on matching repositories.' },
    anonymousPolicy: { ...actions, description: 'Actions callers without credentials get on matching repositories.' },
  },
  additionalProperties: false,
};

export const GROUP_SCHEMA: SchemaNode = {
  type: 'object',
  properties: { users: { type: 'array', items: { type: 'string' }, description: 'Members of the group.' } },
  additionalProperties: false,
};

export const securityConfigSchema: { properties: Record<string, SchemaNode> } = {
  properties: {
    realm: {
      type: 'string',
      default: 'Authorization Required',
      description: 'Realm in the WWW-Authenticate: Basic challenge of 401 answers.',
    },
    tls: {
      type: 'object',
      description: 'Serve HTTPS (TLS 1.2 minimum). Files are re-read on SIGHUP.',
      properties: {
        cert: { type: 'string', description: 'PEM server certificate (chain) file.' },
        key: { type: 'string', description: 'PEM private key file (unencrypted).' },
        cacert: {
          type: 'string',
          description:
            'PEM CA file: clients present certificates signed by it; the subject CN is the identity. Required unless htpasswd or LDAP is also configured (mixed mode).',
        },
      },
      required: ['cert', 'key'],
      additionalProperties: false,
    },
    auth: {
      type: 'object',
      description: 'Authentication (HTTP Basic against htpasswd and/or LDAP; client certificates via tls.cacert).',
      properties: {
        failDelay: { type: ['number', 'string'], default: 0, description: 'Seconds a failed login waits before its 401.' },
        htpasswd: {
          type: 'object',
          properties: {
            path: { type: 'string', description: 'htpasswd file (bcrypt, apr1 or SHA-1 entries); reloaded when it changes.' },
          },
          additionalProperties: false,
        },
        ldap: {
          type: 'object',
          properties: {
            address: { type: 'string', description: 'LDAP server host name or IP address.' },
            port: { type: ['integer', 'string'], description: 'Port (default 636 for LDAPS, 389 otherwise).' },
            insecure: { type: 'boolean', default: false, description: 'Plain LDAP without TLS (unless startTLS). Default: LDAPS.' },
            startTLS: { type: 'boolean', default: false, description: 'Connect in plain LDAP and upgrade with StartTLS.' },
            skipVerify: { type: 'boolean', default: false, description: "Do not verify the LDAP server's certificate (testing only)." },
            caCert: { type: 'string', description: "PEM CA file for the LDAP server's certificate." },
            baseDN: { type: 'string', description: 'Where users are searched.' },
            userAttribute: { type: 'string', default: 'uid', description: 'Attribute holding the login name.' },
            userFilter: { type: 'string', description: 'Extra filter AND-ed to the user search, e.g. (objectClass=person).' },
            userGroupAttribute: { type: 'string', description: "Attribute of the user's entry listing their groups, e.g. memberOf." },
            subtreeSearch: { type: 'boolean', default: false, description: 'Search the whole subtree under baseDN (default: one level).' },
            bindDN: { type: 'string', description: 'Service account DN used for the user search.' },
            bindPassword: { type: 'string', secret: true, description: 'Service account password (prefer credentialsFile).' },
            credentialsFile: { type: 'string', description: 'JSON file with {"bindDN", "bindPassword"}.' },
            queryTimeout: { type: ['number', 'string'], default: 5, description: 'Seconds allowed to connect and for each LDAP operation.' },
          },
          required: ['address', 'baseDN'],
          additionalProperties: false,
        },
        mtls: {
          type: 'object',
          properties: {
            identityAttributes: { type: 'array', items: { type: 'string', enum: ['CommonName'] }, description: 'Certificate field used as the identity.' },
          },
          additionalProperties: false,
        },
      },
    },
    accessControl: {
      type: 'object',
      description: 'Per-repository authorization (zot format). Without it, any authenticated user may do anything.',
      properties: {
        repositories: {
          type: 'object',
          description: 'Repository glob (**, team/*, {a,b}) -> policies; the longest matching glob applies.',
          additionalProperties: REPOSITORY_POLICY_SCHEMA,
        },
        adminPolicy: { ...POLICY_SCHEMA, description: 'Users and groups granted these actions on every repository.' },
        groups: {
          type: 'object',
          description: 'Group name -> {"users": [...]}, for backends without groups (htpasswd, mTLS).',
          additionalProperties: GROUP_SCHEMA,
        },
        metrics: {
          type: 'object',
          description: "zot's metrics access list; accepted for compatibility (metrics routes follow the authorizer).",
          properties: { users: { type: 'array', items: { type: 'string' } } },
        },
      },
      // Older zot configs put repository globs directly under accessControl.
      additionalProperties: REPOSITORY_POLICY_SCHEMA,
    },
  },
};
