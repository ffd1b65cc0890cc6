/** `http`: the listener, its limits, and the security keys (see security.ts). */
import type { z } from 'zod';
import { duration, flag, integer, port, section, text } from './kit.js';
import { checkAuthTokens, externalUrl } from './auth-tokens.js';
import { accessControlSchema, authSchema, checkRealm, checkSecurity, tlsSchema } from './security.js';

export const HTTP_DEFAULTS = { address: '127.0.0.1', port: 5000, realm: 'zot', swagger: true, workers: 1 } as const;

export const LIMIT_DEFAULTS = {
  maxManifestSize: 4 * 1024 * 1024,
  maxUploadSessionsPerClient: 1000,
  uploadSessionExpiry: '1h',
  headersTimeout: '60s',
  requestTimeout: '0',
  idleTimeout: '5m',
} as const;

export const limitsSchema = section(
  {
    maxManifestSize: integer({
      min: 4096,
      default: LIMIT_DEFAULTS.maxManifestSize,
      description: 'largest manifest accepted, in bytes; larger gets 413',
    }),
    maxUploadSessionsPerClient: integer({
      min: 0,
      default: LIMIT_DEFAULTS.maxUploadSessionsPerClient,
      description: 'upload sessions one client may keep open (0: no limit); more gets 429',
    }),
    uploadSessionExpiry: duration({
      default: LIMIT_DEFAULTS.uploadSessionExpiry,
      description: 'an upload session idle this long is abandoned and removed',
    }),
    headersTimeout: duration({ default: LIMIT_DEFAULTS.headersTimeout, description: 'time a client gets to send request headers' }),
    requestTimeout: duration({
      default: LIMIT_DEFAULTS.requestTimeout,
      description: 'time a client gets to send a whole request, body included (0: none)',
    }),
    idleTimeout: duration({
      default: LIMIT_DEFAULTS.idleTimeout,
      description: 'a connection silent this long is closed, even mid-request',
    }),
  },
  { description: 'request and resource limits (slow clients, oversized input, abandoned uploads)' },
);

export const httpSchema = section(
  {
    address: text({ nonEmpty: true, default: HTTP_DEFAULTS.address, description: 'listen address, e.g. 127.0.0.1 or 0.0.0.0' }),
    port: port({ default: HTTP_DEFAULTS.port, description: 'listen port' }),
    externalUrl: externalUrl,
    realm: text({
      default: HTTP_DEFAULTS.realm,
      description: 'realm in the WWW-Authenticate: Basic challenge of 401 answers (no quotes or backslashes)',
    }).superRefine(checkRealm),
    swagger: flag({
      default: HTTP_DEFAULTS.swagger,
      description: 'serve the OpenAPI document (/openapi.json, /openapi.yaml) and Swagger UI (/swagger/)',
    }),
    workers: integer({
      min: 0,
      max: 64,
      default: HTTP_DEFAULTS.workers,
      description:
        'serving processes sharing the port (0: one per CPU core). More use more cores for request-heavy loads, each with its own memory',
    }),
    tls: tlsSchema,
    auth: authSchema,
    accessControl: accessControlSchema,
    limits: limitsSchema,
  },
  { description: 'the listener, its limits, TLS, authentication and access control' },
)
  .superRefine(checkSecurity, { when: () => true })
  .superRefine(checkAuthTokens, { when: () => true });

export type HttpConfig = z.output<typeof httpSchema>;
export type TlsConfig = z.output<typeof tlsSchema>;
export type AuthConfig = z.output<typeof authSchema>;
export type LdapConfig = z.output<typeof import('./security.js').ldapSchema>;
export type AccessControlConfig = z.output<typeof accessControlSchema>;
export type LimitsConfig = z.output<typeof limitsSchema>;
