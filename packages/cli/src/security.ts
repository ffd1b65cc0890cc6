/**
 * TLS, authentication and access control for `zot-cli serve`, from the config's `http.tls`,
 * `http.auth` and `http.accessControl` (zot's keys, validated by @zotjs/config, implemented by
 * @zotjs/auth): the wiring into the server (HTTPS, SIGHUP reload).
 */
import { createSecurity, type SecureContextTarget, type Security } from '@zotjs/auth';
import type { HttpConfig } from '@zotjs/config';
import type { Logger } from 'pino';

/** Builds the security the `http` section asks for (reads the certificate, htpasswd and LDAP files). */
export function buildSecurity(http: HttpConfig | undefined, realm: string, logger: Logger): Promise<Security> {
  return createSecurity(http, { realm, logger });
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
