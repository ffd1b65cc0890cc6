/**
 * TLS, authentication and access control for `zot-cli serve`, from the config's `http.tls`,
 * `http.auth` and `http.accessControl` (zot's keys, implemented by @zotjs/auth): the config
 * schema nodes `verify` checks them with, and the wiring into the server (HTTPS, SIGHUP reload).
 */
import { createSecurityFromConfig, securityConfigSchema, validateSecurityConfig, type SecureContextTarget, type Security } from '@zotjs/auth';
import type { Logger } from 'pino';
import type { ConfigIssue, Schema } from './config/schema-kit.js';

type SecurityKey = 'tls' | 'auth' | 'accessControl';
const SECURITY_KEYS: readonly SecurityKey[] = ['tls', 'auth', 'accessControl'];

/**
 * A schema node for one security key. It only checks the value is an object: the keys inside are
 * checked by {@link withSecurityChecks}, which sees the whole `http` section (some checks span
 * keys, e.g. `auth.mtls` needs `tls.cacert`).
 */
export function securityNode(key: SecurityKey): Schema<Record<string, unknown>> {
  const description = securityConfigSchema.properties[key]?.description;
  return {
    expected: 'an object',
    description,
    check(value, path, issues) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ path, message: 'expected an object' });
      }
    },
  };
}

/** Adds @zotjs/auth's validation of the security keys to the `http` object schema. */
export function withSecurityChecks<S extends Schema<unknown>>(http: S): S {
  const checked: S = {
    ...http,
    check(value: unknown, path: string, issues: ConfigIssue[]) {
      http.check(value, path, issues);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
      const section = value as Record<string, unknown>;
      // Only the security keys (others are the base schema's); objects only (else reported above).
      const own: Record<string, unknown> = {};
      for (const key of SECURITY_KEYS) {
        const v = section[key];
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) own[key] = v;
      }
      if ('realm' in section) own.realm = section.realm;
      for (const problem of validateSecurityConfig(own)) {
        // The base schema already checks realm's type.
        if (problem.path === 'http.realm' && typeof section.realm !== 'string') continue;
        issues.push({ path: path + problem.path.slice('http'.length), message: problem.message });
      }
    },
  };
  return checked;
}

/** Builds the security the `http` section asks for (reads the certificate, htpasswd and LDAP files). */
export function buildSecurity(http: Record<string, unknown> | undefined, realm: string, logger: Logger): Promise<Security> {
  return createSecurityFromConfig({ ...(http ?? {}), realm }, { logger });
}

/**
 * Re-reads the TLS certificates on SIGHUP (no restart needed to rotate them) and installs them in
 * `server` (an https server). Returns a function that removes the handler.
 */
export function reloadCertificatesOnSighup(security: Security, server: object, logger: Logger): () => void {
  const tls = security.tls;
  const target = server as Partial<SecureContextTarget>;
  if (!tls || typeof target.setSecureContext !== 'function') return () => undefined;
  const https = target as SecureContextTarget;
  const onHangup = (): void => {
    logger.info({ signal: 'SIGHUP' }, 'reloading TLS certificates');
    void tls.reload(https);
  };
  process.on('SIGHUP', onHangup);
  return () => process.off('SIGHUP', onHangup);
}
