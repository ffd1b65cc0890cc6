/**
 * zot's API-key endpoints as core routes: `POST /zot/auth/apikey` (JSON `{label, scopes,
 * expirationDate}` → 201 with the key, shown this once), `GET` (→ `{apiKeys: [...]}`) and
 * `DELETE ?id=<uuid>`. The caller must be logged in (password, session or token; not with an API
 * key, so a leaked scoped key cannot mint an unscoped one).
 */
import { RegistryError, type Identity, type RouteContext, type RouteDefinition } from '@zotjs/core';
import { jsonResponse, MAX_JSON_BYTES, readJson } from '../http/body.js';
import { ApiKeyRequestError, type ApiKeyRequest, type ApiKeyService } from './service.js';

export const API_KEY_PATH = '/zot/auth/apikey';

export interface ApiKeyRoutesOptions {
  keys: ApiKeyService;
  /** The challenge a caller without a login gets (the registry authenticator's). */
  challenge: () => string;
}

export function apiKeyRoutes(options: ApiKeyRoutesOptions): RouteDefinition[] {
  const { keys } = options;
  const owner = (ctx: RouteContext): Identity => {
    const identity = ctx.outcome.identity;
    if (!identity) {
      ctx.request.body?.resume();
      throw new RegistryError('UNAUTHORIZED', 'log in to manage API keys', { headers: { 'WWW-Authenticate': options.challenge() } });
    }
    if (identity.method === 'apikey') {
      ctx.request.body?.resume();
      throw new RegistryError('DENIED', 'API keys cannot manage API keys: log in with your password or single sign-on');
    }
    return identity;
  };
  const common = { action: 'none' as const, tag: 'auth' };
  return [
    {
      ...common,
      method: 'POST',
      template: API_KEY_PATH,
      operationId: 'createApiKey',
      summary: 'Create an API key for the logged-in user (shown once)',
      responses: {
        201: 'the key and its details',
        400: 'invalid label, scopes or expirationDate',
        401: 'not logged in',
        403: 'logged in with an API key',
        413: 'body too large',
      },
      requestBody: {
        mediaType: 'application/json',
        description: `{"label": "...", "scopes": ["repo", "team/*"], "expirationDate": "RFC 3339"} (at most ${MAX_JSON_BYTES} bytes)`,
      },
      responseBody: { mediaTypes: ['application/json'] },
      async handle(ctx) {
        const identity = owner(ctx);
        const body = await readJson(ctx.request);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object');
        try {
          const created = await keys.create(identity, body as ApiKeyRequest, ctx.request.headers['user-agent'] ?? '');
          return jsonResponse(201, created, { 'Cache-Control': 'no-store' });
        } catch (err) {
          if (err instanceof ApiKeyRequestError) throw badRequest(err.message);
          throw err;
        }
      },
    },
    {
      ...common,
      method: 'GET',
      template: API_KEY_PATH,
      operationId: 'listApiKeys',
      summary: "List the logged-in user's API keys (never the keys themselves)",
      responses: { 200: '{"apiKeys": [...]}', 401: 'not logged in' },
      responseBody: { mediaTypes: ['application/json'] },
      async handle(ctx) {
        return jsonResponse(200, { apiKeys: await keys.list(owner(ctx)) });
      },
    },
    {
      ...common,
      method: 'DELETE',
      template: API_KEY_PATH,
      operationId: 'revokeApiKey',
      summary: "Revoke one of the logged-in user's API keys (?id=<uuid>)",
      query: { id: "the key's uuid" },
      responses: { 200: 'revoked', 400: 'no id', 401: 'not logged in', 404: 'no such key of this user' },
      async handle(ctx) {
        const identity = owner(ctx);
        const ids = ctx.request.query.getAll('id');
        if (ids.length !== 1 || ids[0] === '') throw badRequest('exactly one id query parameter is required');
        if (!(await keys.revoke(identity, ids[0]!))) throw new RegistryError('NAME_UNKNOWN', 'no such API key', { status: 404 });
        return { status: 200, headers: { 'Content-Length': '0' } };
      },
    },
  ];
}

function badRequest(message: string): RegistryError {
  return new RegistryError('UNSUPPORTED', message, { status: 400 });
}
