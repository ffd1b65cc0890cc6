import { readFileSync } from 'node:fs';
import { resolveSecurityConfig, summarizeSecurity } from '@zotjs/auth/security';
import { createExtensions, type Extensions } from '@zotjs/extensions';
import type { RouteDefinition } from '@zotjs/core';
import type { Logger } from 'pino';
import type { Settings } from './config/settings.js';
import { isClusterWorker } from '@zotjs/server/workers';
import { openStorage } from './maintenance.js';

/**
 * The operations endpoints the config asks for: health probes (always, as zot), Prometheus
 * metrics (`extensions.metrics`), OpenAPI and Swagger UI (`http.swagger`), the audit log (`log.audit`).
 * Health and the storage gauges look at the server's own storage (the same instance, still
 * opening here), so with S3 they ask the bucket.
 */
/** `otherRoutes`: the security's endpoints (token service, API keys, single sign-on), built later, documented too. */
export function buildExtensions(settings: Settings, logger: Logger, otherRoutes?: () => readonly RouteDefinition[]): Extensions {
  const security = summarizeSecurity(resolveSecurityConfig(settings.config.http));
  return createExtensions({
    storage: openStorage(settings, logger),
    version: cliVersion(),
    title: 'zot-ts OCI registry',
    swagger: settings.http.swagger,
    basicAuth: security.passwordLogin,
    ...(settings.metrics
      ? {
          metrics: {
            enable: true,
            path: settings.metrics.path,
            // As zot: with auth on, scraping needs a login, and one of accessControl.metrics.users when listed.
            ...(security.authentication
              ? {
                  requireUser: {
                    challenge: `Basic realm="${settings.http.realm}"`,
                    ...(security.metricsUsers ? { users: security.metricsUsers } : {}),
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(settings.log.audit ? { auditFile: settings.log.audit } : {}),
    ...(otherRoutes ? { otherRoutes } : {}),
    ...(isClusterWorker() ? { clusterWorker: true } : {}),
    logger,
  });
}

function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
