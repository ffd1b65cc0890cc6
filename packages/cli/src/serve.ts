import { mkdir } from 'node:fs/promises';
import type { Security } from '@zotjs/auth/security';
import type { RouteDefinition } from '@zotjs/core';
import type { Extensions } from '@zotjs/extensions';
import {
  createServer,
  DEFAULT_RECLAIM_EVERY_BYTES,
  isClusterWorker,
  runsMaintenance,
  shareUploadSessions,
  type RegistryServer,
} from '@zotjs/server';
import type { Logger } from 'pino';
import type { Settings } from './config/settings.js';
import { buildExtensions } from './extensions.js';
import { buildSecurity, reloadCertificatesOnSighup } from './security.js';
import { openStorage, startMaintenance } from './maintenance.js';

export interface ServeOptions {
  settings: Settings;
  logger: Logger;
  /** How the config was obtained, for the startup line ("embedded default" or the file path). */
  configSource: string;
  /** How long in-flight requests get at shutdown before their connections are cut. */
  shutdownDeadlineMs?: number;
  /** Resolves when the server should stop (signals, in the CLI). */
  stopSignal: Promise<string>;
}

/**
 * Builds the server the config describes. Features configured in the file (auth, access
 * control, TLS, extensions) plug in here as they are added.
 */
export async function buildServer(
  settings: Settings,
  logger: Logger,
  extensions?: Extensions,
  security?: Security,
): Promise<RegistryServer> {
  const storage = await openStorage(settings, logger); // storage.storageDriver (S3), else OCI layouts in rootDirectory
  const { limits } = settings.maintenance;
  return createServer({
    storage,
    // The zot-cli launcher starts node with --expose-gc for this (see bench/README.md); run
    // without it (`node zot-cli.js`), V8 collects on its own schedule.
    reclaimBodyBuffersEvery: typeof globalThis.gc === 'function' ? DEFAULT_RECLAIM_EVERY_BYTES : 0,
    maxManifestBytes: limits.maxManifestBytes,
    maxUploadSessionsPerClient: limits.maxUploadSessionsPerClient,
    // Workers count each client's sessions together: its requests reach any of them.
    ...(isClusterWorker() ? { uploadSessionSharing: shareUploadSessions() } : {}),
    uploadExpiryMs: limits.uploadExpiryMs,
    verifyBlobReads: settings.maintenance.verifyBlobReads,
    timeouts: { headersMs: limits.headersMs, requestMs: limits.requestMs, idleMs: limits.idleMs },
    address: settings.http.address,
    port: settings.http.port,
    logger,
    extraRoutes: [...(security?.routes ?? []), ...(extensions?.routes ?? [])],
    ...(extensions ? { onRequestEnd: (record) => extensions.observe(record) } : {}),
    ...(security?.tls ? { tls: security.tls.serverOptions() } : {}),
    ...(security?.authenticator ? { authenticator: security.authenticator } : {}),
    ...(security?.authorizer ? { authorizer: security.authorizer } : {}),
  });
}

/** Creates the storage root (0700, as zot does) if missing: the health probes and the OCI layouts live there. */
export async function ensureRootDirectory(rootDirectory: string): Promise<void> {
  await mkdir(rootDirectory, { recursive: true, mode: 0o700 });
}

/** Runs until `stopSignal` resolves, then shuts down gracefully. Resolves to the exit code. */
export async function serve(options: ServeOptions): Promise<number> {
  const { settings, logger } = options;
  await ensureRootDirectory(settings.storage.rootDirectory);
  // The security's routes join the OpenAPI document once security is built (after the storage check).
  const securityRoutes: RouteDefinition[] = [];
  const extensions = buildExtensions(settings, logger, () => securityRoutes);
  try {
    return await run(options, extensions, securityRoutes);
  } finally {
    // Flushes the audit file and stops the background checks, whatever happened.
    extensions.close();
  }
}

async function run(options: ServeOptions, extensions: Extensions, securityRoutes: RouteDefinition[]): Promise<number> {
  const { settings, logger } = options;
  // First storage check before listening: /startupz and /readyz are right from the first request.
  await extensions.start();
  // TLS files, htpasswd and LDAP settings are read before listening: a bad path stops startup.
  const security = await buildSecurity(settings.config.http, settings, logger);
  securityRoutes.push(...security.routes);
  try {
    return await listenUntilStopped(options, extensions, security);
  } finally {
    await security.close();
  }
}

async function listenUntilStopped(options: ServeOptions, extensions: Extensions, security: Security): Promise<number> {
  const { settings, logger } = options;
  const server = await buildServer(settings, logger, extensions, security);
  const stopReloading = reloadCertificatesOnSighup(security, server.server, logger);
  const address = await server.listen().catch((err: unknown) => {
    stopReloading();
    throw err;
  });
  logger.info(
    {
      url: address.url,
      address: address.address,
      port: address.port,
      rootDirectory: settings.storage.rootDirectory,
      config: options.configSource,
      distSpecVersion: settings.distSpecVersion,
    },
    `zot-ts listening on ${address.url} (config: ${options.configSource})`,
  );
  // Garbage collection and scrub in the background (storage.gc, extensions.scrub).
  // In a multi-process server, one worker runs them for all.
  const maintenance = runsMaintenance()
    ? startMaintenance(server.storage, settings, logger, server.registry.events)
    : { stop: async () => undefined };

  const signal = await options.stopSignal;
  const deadlineMs = options.shutdownDeadlineMs ?? 10_000;
  logger.info({ signal, deadlineMs }, 'shutting down: finishing in-flight requests');
  stopReloading();
  const [clean] = await Promise.all([server.close(deadlineMs), maintenance.stop()]);
  logger.info({ clean }, 'stopped');
  return 0;
}
