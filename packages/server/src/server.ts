import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  createRegistryHandler,
  Registry,
  type Authenticator,
  type Authorizer,
  type CorruptContentEvent,
  type Logger,
  type RegistryHandler,
  type RegistryStorage,
  type RequestRecord,
  type RouteDefinition,
  type UploadSessionSharing,
} from '@zotjs/core';
import { createRequestListener } from './request-listener.js';

export interface ServerConfig {
  /** The storage backend the server builds its {@link Registry} on. Either this or `registry`. */
  storage?: RegistryStorage;
  /**
   * A {@link Registry} you built yourself (to use it from your own code too). Then the registry's
   * own settings (`storage`, `deleteEnabled`, `maxManifestBytes`, `uploadExpiryMs`,
   * `verifyBlobReads`, `onCorruptContent`) are the ones you gave it: passing them here is an error.
   */
  registry?: Registry;
  /**
   * A young-generation garbage collection after every this many bytes of request body (default 0:
   * never). Frees the buffers node copies each body segment into while they are young (measured in
   * bench/README.md); `zot-cli` uses {@link DEFAULT_RECLAIM_EVERY_BYTES}. Needs a process started with
   * `node --expose-gc`: without it `createServer` throws.
   */
  reclaimBodyBuffersEvery?: number;
  /** Listen address (default 127.0.0.1). */
  address?: string;
  /** Listen port (default 5000; 0 picks a free one). */
  port?: number;
  /** HTTPS instead of HTTP (key, cert, ca, requestCert...). */
  tls?: HttpsServerOptions;
  authenticator?: Authenticator;
  authorizer?: Authorizer;
  /** Extra routes (health, metrics...) answered by the same handler. */
  extraRoutes?: readonly RouteDefinition[];
  /** Called once per request when the response is over (metrics, audit log). */
  onRequestEnd?: (record: RequestRecord) => void;
  /** Where the one-line-per-request log and errors go (pino, or anything with its shape). None: no logs. */
  logger?: Logger;
  deleteEnabled?: boolean;
  maxManifestBytes?: number;
  /** Upload sessions one client may keep open (default 1000; 0: no limit). */
  maxUploadSessionsPerClient?: number;
  /** Counts those sessions together with the other processes of a multi-process server (see `shareUploadSessions`). */
  uploadSessionSharing?: UploadSessionSharing;
  /** Upload sessions idle for longer are abandoned (ms; default 1 hour). */
  uploadExpiryMs?: number;
  /** Re-hash whole-blob reads and cut the stream of a corrupt blob (default true). */
  verifyBlobReads?: boolean;
  /** Called when stored content turns out corrupt (besides the error log line). */
  onCorruptContent?: (event: CorruptContentEvent) => void;
  timeouts?: ServerTimeouts;
}

/** Slow-client protection (all in ms; 0 turns one off). */
export interface ServerTimeouts {
  /** Time to receive a request's headers (default 60 s): slow-header clients are cut. */
  headersMs?: number;
  /** Time to receive a whole request, body included (default 0: none, big layers take long). */
  requestMs?: number;
  /** A connection with no traffic for this long is closed, mid-request too (default 5 minutes). */
  idleMs?: number;
  /**
   * How long an idle keep-alive connection is kept between requests (default 65 s). Longer than
   * clients' and load balancers' own idle timeouts, so the server is not the one closing a
   * connection just as a client reuses it (a reset the client cannot tell from a failure).
   */
  keepAliveMs?: number;
}

export interface ListeningAddress {
  address: string;
  port: number;
  /** `http://127.0.0.1:5000` */
  url: string;
}

export interface RegistryServer {
  server: Server;
  registry: Registry;
  storage: RegistryStorage;
  handler: RegistryHandler;
  logger: Logger | undefined;
  /** Starts listening; resolves with the actual address (useful with port 0). */
  listen(): Promise<ListeningAddress>;
  /**
   * Graceful stop: no new connections, idle keep-alive connections closed, in-flight requests
   * given until `deadlineMs` (default 10 s) to finish, then their connections are cut.
   * Resolves to true when everything finished in time.
   */
  close(deadlineMs?: number): Promise<boolean>;
}

// Uploads of large layers over slow links take long: no whole-request deadline, only an idle one.
const IDLE_SOCKET_TIMEOUT_MS = 5 * 60 * 1000;
const HEADERS_TIMEOUT_MS = 60 * 1000;

/** Registry + handler + node server on the storage you give, wired the usual way. */
export function createServer(config: ServerConfig): RegistryServer {
  checkRegistrySettings(config);
  const logger = config.logger;
  const registry = config.registry ?? buildRegistry(config);
  const storage = registry.storage;
  const handler = createRegistryHandler({
    registry,
    ...(config.maxUploadSessionsPerClient !== undefined ? { maxUploadSessionsPerClient: config.maxUploadSessionsPerClient } : {}),
    ...(config.uploadSessionSharing ? { uploadSessionSharing: config.uploadSessionSharing } : {}),
    ...(config.authenticator ? { authenticator: config.authenticator } : {}),
    ...(config.authorizer ? { authorizer: config.authorizer } : {}),
    ...(config.extraRoutes ? { extraRoutes: config.extraRoutes } : {}),
    ...(logger ? { logger } : {}),
  });
  // No Koa app in between: every path is the registry's (unknown ones get the spec's JSON 404).
  const callback = createRequestListener(handler, {
    ...(config.reclaimBodyBuffersEvery !== undefined ? { reclaimBodyBuffersEvery: config.reclaimBodyBuffersEvery } : {}),
    ...(logger ? { logger } : {}),
    ...(config.onRequestEnd ? { onRequestEnd: config.onRequestEnd } : {}),
  });
  const timeouts = config.timeouts ?? {};
  const requestMs = timeouts.requestMs ?? 0;
  // node refuses a header deadline past the whole-request one.
  const headersMs = Math.min(timeouts.headersMs ?? HEADERS_TIMEOUT_MS, requestMs > 0 ? requestMs : Number.POSITIVE_INFINITY);
  const limits = {
    headersTimeout: headersMs,
    requestTimeout: requestMs,
    keepAliveTimeout: timeouts.keepAliveMs ?? 65_000,
    // node enforces the header and request deadlines on this tick (default 30 s: too coarse for short ones).
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, ...[headersMs, requestMs].filter((ms) => ms > 0).map((ms) => ms / 4))),
  };
  const server = config.tls ? createHttpsServer({ ...config.tls, ...limits }, callback) : createHttpServer(limits, callback);
  server.timeout = timeouts.idleMs ?? IDLE_SOCKET_TIMEOUT_MS;

  // Requests in flight per socket, to close idle keep-alive sockets at shutdown but let busy ones finish.
  const busy = new Map<Socket, number>();
  server.on('request', (req, res) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) busy.set(socket, left);
      else busy.delete(socket);
      if (closing && left <= 0) socket.end();
    });
  });
  let closing = false;

  const address = config.address ?? '127.0.0.1';
  const port = config.port ?? 5000;
  const scheme = config.tls ? 'https' : 'http';

  return {
    server,
    registry,
    storage,
    handler,
    logger,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, address, () => {
          server.off('error', reject);
          const info = server.address() as AddressInfo;
          const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
          resolve({ address: info.address, port: info.port, url: `${scheme}://${host}:${info.port}` });
        });
      });
    },
    close(deadlineMs = 10_000) {
      closing = true;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          logger?.warn({ deadlineMs, inFlight: busy.size }, 'shutdown deadline reached: closing busy connections');
          server.closeAllConnections();
          resolve(false);
        }, deadlineMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve(true);
        });
        server.closeIdleConnections();
      });
    },
  };
}

/** The settings that belong to the Registry itself: given with a ready `registry`, they would be ignored. */
const REGISTRY_SETTINGS = [
  'storage',
  'deleteEnabled',
  'maxManifestBytes',
  'uploadExpiryMs',
  'verifyBlobReads',
  'onCorruptContent',
] as const;

function buildRegistry(config: ServerConfig): Registry {
  const { logger } = config;
  if (!config.storage) throw new TypeError('createServer: `storage` (a RegistryStorage) or `registry` is required');
  return new Registry({
    storage: config.storage,
    ...(config.deleteEnabled !== undefined ? { deleteEnabled: config.deleteEnabled } : {}),
    ...(config.maxManifestBytes !== undefined ? { maxManifestBytes: config.maxManifestBytes } : {}),
    ...(config.uploadExpiryMs !== undefined ? { uploadExpiryMs: config.uploadExpiryMs } : {}),
    ...(config.verifyBlobReads !== undefined ? { verifyBlobReads: config.verifyBlobReads } : {}),
    onCorruptContent: (event) => {
      logger?.error(
        { repository: event.repository, digest: event.digest, actual: event.actual },
        'corrupt blob: not served (run zot-cli scrub)',
      );
      config.onCorruptContent?.(event);
    },
  });
}

/** With a ready `registry`, the registry's own settings must not be given beside it. */
function checkRegistrySettings(config: ServerConfig): void {
  if (!config.registry) return;
  const given = REGISTRY_SETTINGS.filter((key) => config[key] !== undefined);
  if (given.length > 0) {
    throw new TypeError(`createServer: ${given.join(', ')} belong to the Registry you pass as \`registry\`: set them when you build it`);
  }
}
