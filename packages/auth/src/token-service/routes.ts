/**
 * The token endpoint as core routes (`GET` and `POST /zot/auth/token`), so one route table drives
 * dispatch and OpenAPI. GET is token.md's form (Basic credentials or none, `scope` repeated,
 * `offline_token=true` for a refresh token); POST is oauth.md's form that `docker login` uses
 * (`grant_type=password` or `refresh_token`, `access_type=offline`). The routes authenticate by
 * themselves: anonymous callers get what anonymousPolicy allows, wrong credentials a 401.
 */
import {
  RegistryError,
  type AuthRequest,
  type Authenticator,
  type Identity,
  type Logger,
  type RegistryRequest,
  type RouteDefinition,
} from '@zotjs/core';
import { parseScopes, type ResourceScope } from '../bearer/scope.js';
import { jsonResponse, NO_STORE, readForm } from '../http/body.js';
import { InvalidGrantError, type TokenService } from './service.js';

export const TOKEN_PATH = '/zot/auth/token';

export interface TokenRoutesOptions {
  service: TokenService;
  /** Checks Basic credentials: the password authenticator, or one that also accepts API keys. */
  credentials: Authenticator;
  /** Issue tokens to callers without credentials (default true; anonymousPolicy decides what they get). */
  allowAnonymous?: boolean;
  logger?: Logger;
}

/** An identity established with an API key carries the key's id (its refresh tokens die with the key). */
export interface ApiKeyBackedIdentity extends Identity {
  readonly apiKeyId: string;
}

function apiKeyIdOf(identity: Identity): string | undefined {
  const id = (identity as Partial<ApiKeyBackedIdentity>).apiKeyId;
  return typeof id === 'string' ? id : undefined;
}

export function tokenRoutes(options: TokenRoutesOptions): RouteDefinition[] {
  const { service, credentials, logger } = options;
  const allowAnonymous = options.allowAnonymous ?? true;

  function checkService(requested: string | null): void {
    if (requested !== null && requested !== '' && requested !== service.service) {
      throw new RegistryError('UNSUPPORTED', `this token service issues tokens for ${service.service} only`, { status: 400 });
    }
  }

  async function login(request: RegistryRequest, authorization: string | undefined): Promise<Identity | undefined> {
    if (authorization === undefined) {
      if (!allowAnonymous) throw unauthorized(credentials);
      return undefined;
    }
    const authRequest: AuthRequest = {
      method: request.method,
      path: request.path,
      headers: { ...request.headers, authorization },
      ...(request.remoteAddress ? { remoteAddress: request.remoteAddress } : {}),
    };
    const result = await credentials.authenticate(authRequest);
    if (result.kind !== 'authenticated') throw unauthorized(credentials);
    return result.identity;
  }

  const get: RouteDefinition = {
    method: 'GET',
    template: TOKEN_PATH,
    operationId: 'getToken',
    summary: 'Get a registry access token (Basic credentials or anonymous; scope repeated; offline_token=true adds a refresh token)',
    action: 'none',
    public: true,
    tag: 'auth',
    responses: {
      200: 'the token',
      400: 'unknown service',
      401: 'wrong credentials',
      429: 'too many failed logins: retry after Retry-After seconds',
    },
    query: {
      service: 'the registry the token is for',
      scope: 'repository:<name>:<actions> (repeatable)',
      offline_token: 'true: also a refresh token',
      client_id: 'the client, for audit',
    },
    responseBody: { mediaTypes: ['application/json'] },
    async handle({ request }) {
      checkService(request.query.get('service'));
      const header = request.headers['authorization'];
      const identity = await login(request, header === undefined || header.trim() === '' ? undefined : header);
      const scopes = request.query.getAll('scope').flatMap((s) => parseScopes(s));
      const offline = request.query.get('offline_token') === 'true';
      const apiKeyId = identity ? apiKeyIdOf(identity) : undefined;
      const answer = await service.issue({
        ...(identity ? { identity } : {}),
        scopes,
        offline,
        ...(apiKeyId !== undefined ? { apiKeyId } : {}),
      });
      logIssue(logger, identity, scopes, answer.scope);
      const { scope: _scope, ...body } = answer;
      return jsonResponse(200, body, NO_STORE);
    },
  };

  const post: RouteDefinition = {
    method: 'POST',
    template: TOKEN_PATH,
    operationId: 'postToken',
    summary: 'OAuth2 token request (grant_type=password or refresh_token; access_type=offline adds a refresh token)',
    action: 'none',
    public: true,
    tag: 'auth',
    responses: {
      200: 'the token',
      400: 'malformed request or unsupported grant',
      401: 'wrong credentials or refresh token',
      413: 'body too large',
      415: 'not a form',
    },
    requestBody: {
      mediaType: 'application/x-www-form-urlencoded',
      description: 'grant_type, service, client_id, scope, access_type, username/password or refresh_token',
    },
    responseBody: { mediaTypes: ['application/json'] },
    async handle({ request }) {
      const form = await readForm(request);
      checkService(form.get('service'));
      const scopes = parseScopes(form.get('scope'));
      const grantType = form.get('grant_type');
      let identity: Identity;
      let refreshToken: string | undefined;
      let apiKeyId: string | undefined;
      if (grantType === 'password') {
        const username = form.get('username');
        const password = form.get('password');
        if (!username || password === null) return oauthError(400, 'invalid_request', 'username and password are required');
        try {
          identity = (await login(request, `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`))!;
        } catch (err) {
          if (err instanceof RegistryError && err.code === 'UNAUTHORIZED')
            return oauthError(401, 'invalid_grant', 'invalid username or password');
          throw err;
        }
        apiKeyId = apiKeyIdOf(identity);
      } else if (grantType === 'refresh_token') {
        refreshToken = form.get('refresh_token') ?? '';
        try {
          ({ identity, apiKeyId } = await service.redeem(refreshToken));
        } catch (err) {
          if (err instanceof InvalidGrantError) return oauthError(401, 'invalid_grant', err.message);
          throw err;
        }
      } else {
        return oauthError(400, 'unsupported_grant_type', 'grant_type must be password or refresh_token');
      }
      const offline = form.get('access_type') === 'offline' && refreshToken === undefined;
      const answer = await service.issue({ identity, scopes, offline, ...(apiKeyId !== undefined ? { apiKeyId } : {}) });
      logIssue(logger, identity, scopes, answer.scope);
      // A refresh grant hands back the same refresh token (oauth.md).
      if (refreshToken !== undefined) answer.refresh_token = refreshToken;
      const { token: _token, ...body } = answer;
      return jsonResponse(200, body, NO_STORE);
    },
  };
  return [get, post];
}

function unauthorized(credentials: Authenticator): RegistryError {
  return new RegistryError('UNAUTHORIZED', 'invalid credentials', { headers: { 'WWW-Authenticate': credentials.challenge() } });
}

function oauthError(status: number, error: string, description: string) {
  return jsonResponse(status, { error, error_description: description }, NO_STORE);
}

function logIssue(logger: Logger | undefined, identity: Identity | undefined, scopes: readonly ResourceScope[], granted: string): void {
  if (!logger?.isLevelEnabled || logger.isLevelEnabled('debug')) {
    logger?.debug({ username: identity?.username ?? '', requested: scopes.length, granted }, 'token issued');
  }
}
