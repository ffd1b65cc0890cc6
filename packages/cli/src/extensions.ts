import { readFileSync } from 'node:fs';
import { createExtensions, type Extensions } from '@zotjs/extensions';
import type { Logger } from 'pino';
import type { Settings } from './config/settings.js';
import { openStorage } from './maintenance.js';
import { isClusterWorker } from './workers.js';

/**
 * The operations endpoints the config asks for: health probes (always, as zot), Prometheus
 * metrics (`extensions.metrics`), OpenAPI and Swagger UI (`http.swagger`), the audit log (`log.audit`).
 * Health and the storage gauges look at the server's own storage (the same instance, still
 * opening here), so with S3 they ask the bucket.
 */
export function buildExtensions(settings: Settings, logger: Logger): Extensions {
  const auth = authOf(settings);
  return createExtensions({
    storage: openStorage(settings, logger),
    version: cliVersion(),
    title: 'zot-ts OCI registry',
    swagger: settings.http.swagger,
    basicAuth: auth.passwords,
    ...(settings.metrics
      ? {
          metrics: {
            enable: true,
            path: settings.metrics.path,
            // As zot: with auth on, scraping needs a login, and one of accessControl.metrics.users when listed.
            ...(auth.on
              ? { requireUser: { challenge: `Basic realm="${settings.http.realm}"`, ...(auth.metricsUsers ? { users: auth.metricsUsers } : {}) } }
              : {}),
          },
        }
      : {}),
    ...(settings.log.audit ? { auditFile: settings.log.audit } : {}),
    ...(isClusterWorker() ? { clusterWorker: true } : {}),
    logger,
  });
}

/** What the security keys (`http.auth`, `http.tls.cacert`, `http.accessControl`) mean for these endpoints. */
function authOf(settings: Settings): { on: boolean; passwords: boolean; metricsUsers?: string[] } {
  const http = asObject(settings.config.http);
  const auth = asObject(http?.['auth']);
  const htpasswd = asObject(auth?.['htpasswd']);
  const passwords = (typeof htpasswd?.['path'] === 'string' && htpasswd['path'] !== '') || asObject(auth?.['ldap']) !== undefined;
  const mtls = typeof asObject(http?.['tls'])?.['cacert'] === 'string';
  const users = asObject(asObject(http?.['accessControl'])?.['metrics'])?.['users'];
  const metricsUsers = Array.isArray(users) ? users.filter((u): u is string => typeof u === 'string') : undefined;
  return { on: passwords || mtls, passwords, ...(metricsUsers ? { metricsUsers } : {}) };
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
