/**
 * TLS, authentication and access control for `zot-cli serve`, from the config's `http.tls`,
 * `http.auth` and `http.accessControl` (zot's keys, validated by @zotjs/config, implemented by
 * @zotjs/auth): the wiring into the server (HTTPS, SIGHUP reload).
 */
import { createSecurity, type SecureContextTarget, type Security } from '@zotjs/auth/security';
import type { HttpConfig } from '@zotjs/config';
import type { Logger } from 'pino';
import type { Settings } from './config/settings.js';

/**
 * Builds the security the `http` section asks for (reads the certificate, htpasswd, LDAP, token
 * key and session key files). Local API keys and sessions live under the storage root
 * (`_apikeys/`, `_sessions/`: never repositories, which cannot start with `_`).
 */
export function buildSecurity(http: HttpConfig | undefined, settings: Settings, logger: Logger): Promise<Security> {
  const scheme = http?.tls ? 'https' : 'http';
  return createSecurity(http, {
    realm: settings.http.realm,
    logger,
    dataDirectory: settings.storage.rootDirectory,
    listenUrl: `${scheme}://${settings.http.address}:${settings.http.port}`,
  });
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
