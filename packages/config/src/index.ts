export {
  zotConfigSchema,
  DIST_SPEC_VERSION,
  type ZotConfig,
} from './schema/index.js';
export {
  storageSchema,
  storageDriverSchema,
  retentionSchema,
  STORAGE_DEFAULTS,
  RETENTION_DEFAULTS,
  type StorageConfig,
  type StorageDriverConfig,
  type RetentionConfig,
} from './schema/storage.js';
export {
  httpSchema,
  limitsSchema,
  HTTP_DEFAULTS,
  LIMIT_DEFAULTS,
  type HttpConfig,
  type TlsConfig,
  type AuthConfig,
  type LdapConfig,
  type AccessControlConfig,
  type LimitsConfig,
} from './schema/http.js';
export { ACTIONS, AUTH_DEFAULTS, LDAP_DEFAULTS } from './schema/security.js';
export {
  TOKEN_SERVICE_DEFAULTS,
  SESSION_DEFAULTS,
  MTLS_IDENTITY_ATTRIBUTES,
  OPENID_PROVIDERS,
  type BearerConfig,
  type TokenServiceConfig,
  type OpenIdConfig,
  type SessionDriverConfig,
  type MtlsConfig,
} from './schema/auth-tokens.js';
export {
  logSchema,
  extensionsSchema,
  LOG_LEVELS,
  LOG_DEFAULTS,
  METRICS_DEFAULTS,
  SCRUB_DEFAULTS,
  type LogConfig,
  type ExtensionsConfig,
} from './schema/extensions.js';
export { validateConfig, validateSection, checkConfig, ConfigError, type ValidationResult } from './validate.js';
export type { ConfigIssue } from './issues.js';
export { loadConfigFile, parseConfig, parseConfigText, type LoadedConfig } from './load.js';
export { configJsonSchema, type JsonSchema } from './json-schema.js';
export { parseDuration, parseSeconds, DURATION_PATTERN, type DurationOptions } from './duration.js';
export { renderConfigReference } from './reference.js';
