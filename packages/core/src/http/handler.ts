import type { Action, Authenticator, Authorizer, ChallengeContext, CredentialAccess, Identity } from '../auth.js';
import { RegistryError } from '../errors.js';
import type { Registry } from '../registry.js';
import { registryRoutes, templatePattern, type RouteContext, type RouteDefinition } from './routes.js';
import type { HandledResponse, RegistryRequest, RegistryResponse, RequestOutcome } from './types.js';
import { UploadSessionLimiter, type UploadSessionSharing } from './upload-limiter.js';

/** Minimal structured logger (pino's shape), so core does not depend on a logging library. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** Whether a line at this level would be written (pino has it); lets callers skip building one. */
  isLevelEnabled?(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
}

export interface HandlerOptions {
  registry: Registry;
  /** Who is calling. Without one every request is anonymous. */
  authenticator?: Authenticator;
  /** What they may do. Without one everything is allowed. */
  authorizer?: Authorizer;
  logger?: Logger;
  /** Largest `n` honoured by the tags list and catalog (default 10000). */
  maxPageSize?: number;
  /** Extra routes (health, metrics, docs) dispatched before the registry API. */
  extraRoutes?: readonly RouteDefinition[];
  /**
   * Upload sessions one client (user, else address) may keep open (default 1000); one more is
   * answered 429 TOOMANYREQUESTS. 0 disables the limit.
   */
  maxUploadSessionsPerClient?: number;
  /** Counts those sessions together with other processes serving the same storage; without it, per process. */
  uploadSessionSharing?: UploadSessionSharing;
}

export type RegistryHandler = (request: RegistryRequest) => Promise<HandledResponse>;

interface CompiledRoute {
  route: RouteDefinition;
  pattern: RegExp;
  /** The template's longest literal run, which every matching path contains: a cheap test before the pattern. */
  literal: string;
}

const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };
// The shape of a repository route, to tell "bad name" (400) from "no such route" (404).
const REPOSITORY_ROUTE_SHAPE = /^\/v2\/(.+)\/(?:manifests|blobs|tags|referrers)\//;

/**
 * The framework-agnostic registry: a request in, a response out. Adapters (Koa, plain node:http)
 * translate their request objects to {@link RegistryRequest} and write the response back.
 */
export function createRegistryHandler(options: HandlerOptions): RegistryHandler {
  const { registry, authenticator, authorizer, logger } = options;
  const maxPageSize = options.maxPageSize ?? 10000;
  const maxSessions = options.maxUploadSessionsPerClient ?? 1000;
  const expiryMs = registry.uploadExpiryMs || 24 * 60 * 60 * 1000;
  const sessions = maxSessions > 0 ? new UploadSessionLimiter(maxSessions, expiryMs, Date.now, options.uploadSessionSharing) : undefined;
  const routes: CompiledRoute[] = [...(options.extraRoutes ?? []), ...registryRoutes].map((route) => ({
    route,
    pattern: templatePattern(route.template),
    literal: templateLiteral(route.template),
  }));

  return async function handle(request: RegistryRequest): Promise<HandledResponse> {
    const outcome: RequestOutcome = {};
    try {
      const match = matchRoute(routes, request.method, request.path);
      outcome.route = match.route.template;
      outcome.operationId = match.route.operationId;
      const params = decodeParams(match.groups);
      if (params.name) outcome.repository = params.name;

      // Public routes (health probes, documentation) never look at credentials.
      const caller = match.route.public ? ANONYMOUS : await authenticate(request, match.route, params.name);
      const { identity, access } = caller;
      if (identity) outcome.identity = identity;
      const mayAccess = async (repository: string, action: Action): Promise<boolean> => {
        if (access && !access.allows(repository, action)) return false;
        if (access?.mode === 'replaces-policy') return true;
        return !authorizer || (await authorizer.authorize(identity, repository, action));
      };
      if (match.route.action !== 'none' && params.name) {
        const action = match.route.resolveAction ? await match.route.resolveAction({ registry, params, mayAccess }) : match.route.action;
        outcome.action = action;
        if (!(await mayAccess(params.name, action))) throw denied(caller, { repository: params.name, action });
      }
      let routeMayAccess = mayAccess;
      if (match.route.operationId === 'listRepositories' && access?.allowsCatalog) {
        // A token's catalog grant lists every repository (distribution and zot), or what the policy lets the
        // caller read when the token narrows the policy; without the grant, no catalog.
        if (!access.allowsCatalog()) throw denied(caller, { catalog: true });
        routeMayAccess =
          access.mode === 'replaces-policy'
            ? async () => true
            : async (repository, action) => !authorizer || (await authorizer.authorize(identity, repository, action));
      }

      const client = identity?.username ?? request.remoteAddress ?? 'unknown';
      const opensSession = match.route.operationId === 'startUpload' && !request.query.has('digest');
      if (sessions && opensSession) sessions.check(client);
      // A route that learns from the request body that it needs more (moving a tag) asks here.
      const demand = async (action: Action): Promise<void> => {
        if (!params.name) return;
        outcome.action = action;
        if (!(await mayAccess(params.name, action))) throw denied(caller, { repository: params.name, action });
      };
      let response;
      try {
        response = await match.route.handle({ request, registry, params, outcome, mayAccess: routeMayAccess, demand, maxPageSize });
      } catch (err) {
        if (sessions && params.uploadId && err instanceof RegistryError && err.code === 'BLOB_UPLOAD_UNKNOWN')
          sessions.closed(params.uploadId);
        throw err;
      }
      if (sessions) trackSession(sessions, match.route.operationId, client, params.uploadId, response);
      if (request.method === 'HEAD') delete response.body;
      Object.assign(response.headers, API_VERSION_HEADER);
      if (caller.cookies) response.cookies = [...(response.cookies ?? []), ...caller.cookies];
      return { ...response, outcome };
    } catch (err) {
      return { ...errorResponse(err, request, logger), outcome };
    }
  };

  async function authenticate(request: RegistryRequest, route: RouteDefinition, repository: string | undefined): Promise<Caller> {
    if (!authenticator) return ANONYMOUS;
    const result = await authenticator.authenticate({
      method: request.method,
      path: request.path,
      headers: request.headers,
      ...(request.remoteAddress ? { remoteAddress: request.remoteAddress } : {}),
      ...(request.clientCertificate ? { clientCertificate: request.clientCertificate } : {}),
    });
    const context = challengeContext(route, repository);
    if (result.kind === 'rejected') throw unauthorized(authenticator, { ...context, error: 'invalid_token' });
    if (result.kind === 'authenticated') {
      const { identity, cookies } = result;
      return { identity, ...(identity.access ? { access: identity.access } : {}), ...(cookies?.length ? { cookies } : {}) };
    }
    // Anonymous: the base route and the catalog need a login unless the policy lets anonymous
    // users read something (zot answers both 401 without credentials). An anonymous token from a
    // token service is a login of its own kind.
    const needsLogin = route.operationId === 'checkVersion' || route.operationId === 'listRepositories';
    if (needsLogin && !result.access && !(authorizer?.allowsAnonymousBase?.() ?? false)) throw unauthorized(authenticator, context);
    return result.access ? { access: result.access } : ANONYMOUS;
  }

  function denied(caller: Caller, context: ChallengeContext): RegistryError {
    if (!authenticator) return new RegistryError('DENIED', 'requested access to the resource is denied');
    // Anonymous callers may log in and try again: 401 with the challenge naming what they need.
    if (!caller.identity) return unauthorized(authenticator, caller.access ? { ...context, error: 'insufficient_scope' } : context);
    if (!authenticator.challengesInsufficientScope) return new RegistryError('DENIED', 'requested access to the resource is denied');
    return new RegistryError('DENIED', 'requested access to the resource is denied', {
      headers: { 'WWW-Authenticate': authenticator.challenge({ ...context, error: 'insufficient_scope' }) },
    });
  }
}

/** Who is calling, once authenticated, and what their credential itself allows. */
interface Caller {
  identity?: Identity;
  access?: CredentialAccess;
  /** Set-Cookie values the authenticator wants on the answer (a browser session it started). */
  cookies?: readonly string[];
}

const ANONYMOUS: Caller = {};

/** What a challenge for this route should name: the repository and action, or the catalog. */
function challengeContext(route: RouteDefinition, repository: string | undefined): ChallengeContext {
  if (route.operationId === 'listRepositories') return { catalog: true };
  if (repository !== undefined && route.action !== 'none') return { repository, action: route.action };
  return {};
}

/** Keeps the per-client session count in step with what the route did. */
function trackSession(
  sessions: UploadSessionLimiter,
  operationId: string,
  client: string,
  uploadId: string | undefined,
  response: { status: number; headers: Record<string, string> },
): void {
  if (operationId === 'startUpload') {
    const id = response.headers['Docker-Upload-UUID'];
    if (response.status === 202 && id) sessions.opened(client, id);
  } else if (uploadId !== undefined) {
    if (operationId === 'completeUpload' || operationId === 'cancelUpload') sessions.closed(uploadId);
    else sessions.touched(uploadId);
  }
}

function unauthorized(authenticator: Authenticator, context: ChallengeContext = {}): RegistryError {
  return new RegistryError('UNAUTHORIZED', 'authentication required', {
    headers: { 'WWW-Authenticate': authenticator.challenge(context) },
  });
}

function matchRoute(routes: CompiledRoute[], method: string, path: string): { route: RouteDefinition; groups: Record<string, string> } {
  let pathMatched = false;
  for (const { route, pattern, literal } of routes) {
    if (!path.includes(literal)) continue;
    const match = pattern.exec(path);
    if (!match) continue;
    pathMatched = true;
    if (route.method === method) return { route, groups: match.groups ?? {} };
  }
  if (pathMatched) throw new RegistryError('UNSUPPORTED', `method ${method} is not allowed here`, { status: 405 });
  if (REPOSITORY_ROUTE_SHAPE.test(path)) throw new RegistryError('NAME_INVALID', 'invalid repository name');
  throw new RegistryError('NAME_UNKNOWN', 'no such route', { status: 404, detail: { path: path.slice(0, 200) } });
}

/** The longest literal run of a route template, e.g. `/manifests/` of `/v2/{name}/manifests/{reference}`. */
function templateLiteral(template: string): string {
  return template.split(/\{[a-zA-Z]+\}/).reduce((longest, part) => (part.length > longest.length ? part : longest), '');
}

function decodeParams(groups: Record<string, string | undefined>): RouteContext['params'] {
  const params: Record<string, string> = {};
  for (const key in groups) {
    const value = groups[key];
    if (value === undefined) continue;
    // Names never need decoding (the grammar has no escapes); references may arrive as sha256%3A...
    params[key] = key === 'name' || !value.includes('%') ? value : safeDecode(value);
  }
  return params;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function errorResponse(err: unknown, request: RegistryRequest, logger: Logger | undefined): Omit<HandledResponse, 'outcome'> {
  const error =
    err instanceof RegistryError
      ? err
      : new RegistryError(isUnavailable(err) ? 'UNAVAILABLE' : 'INTERNAL_ERROR', unavailableMessage(err), { cause: err });
  if (!(err instanceof RegistryError)) {
    // The cause goes to the log, never to the client. A client that went away is not a server fault.
    if (request.signal?.aborted) logger?.debug({ err, method: request.method, path: request.path }, 'request aborted by the client');
    else logger?.error({ err, method: request.method, path: request.path }, 'request failed');
  }
  // The request body may be unread (an early error): drain it so the connection can be reused.
  request.body?.resume();
  return registryErrorResponse(error, request.method);
}

/** The spec's answer for `error`: its status, its headers and the JSON error body (none for HEAD). */
export function registryErrorResponse(error: RegistryError, method: string): RegistryResponse {
  const body = Buffer.from(JSON.stringify(error.toBody()));
  const headers: Record<string, string> = {
    ...API_VERSION_HEADER,
    ...error.headers,
    'Content-Type': 'application/json',
    'Content-Length': String(body.length),
  };
  return method === 'HEAD' ? { status: error.status, headers } : { status: error.status, headers, body };
}

/** A message the client can act on when storage refused the write; undefined: the code's default. */
function unavailableMessage(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'the registry storage is full: nothing was stored, try again later';
  if (code === 'EROFS') return 'the registry storage is read-only';
  return undefined;
}

function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS' || code === 'EMFILE';
}
