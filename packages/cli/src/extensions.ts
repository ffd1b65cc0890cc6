import { readFileSync } from 'node:fs';
import { createExtensions, type Extensions } from '@zotjs/extensions';
import type { Logger } from 'pino';
import type { Settings } from './config/settings.js';

/**
 * The operations endpoints the config asks for: health probes (always, as zot), Prometheus
 * metrics (`extensions.metrics`), OpenAPI and Swagger UI (`http.swagger`), the audit log (`log.audit`).
 */
export function buildExtensions(settings: Settings, logger: Logger): Extensions {
  return createExtensions({
    rootDirectory: settings.storage.rootDirectory,
    version: cliVersion(),
    title: 'zot-ts OCI registry',
    swagger: settings.http.swagger,
    ...(settings.metrics ? { metrics: { enable: true, path: settings.metrics.path } } : {}),
    ...(settings.log.audit ? { auditFile: settings.log.audit } : {}),
    logger,
  });
}

function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
