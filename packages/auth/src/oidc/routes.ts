/**
 * zot's single sign-on endpoints as core routes:
 * - `GET /zot/auth/login?provider=<name>&callback_ui=<path>`: redirects to the provider; what the
 *   callback must check (state, nonce, PKCE verifier) travels in a sealed, encrypted, HttpOnly
 *   cookie scoped to the callback path for ten minutes.
 * - `GET /zot/auth/callback/<name>`: checks it all, refuses a state seen before (a replayed
 *   callback, on any replica sharing the session store), starts a session and redirects to
 *   `callback_ui` (302), or answers 201 without one, as zot.
 * - `POST /zot/auth/logout`: ends the session (200).
 */
import { RegistryError, type Logger, type RegistryResponse, type RouteDefinition } from '@zotjs/core';
import { cookieValue, setCookie, type CookieSealer } from '../session/cookie.js';
import type { SessionManager } from '../session/manager.js';
import type { SessionStore } from '../session/store.js';
import { LoginRefusedError, type OpenIdProvider, type PendingLogin } from './provider.js';

export const LOGIN_PATH = '/zot/auth/login';
export const CALLBACK_BASE_PATH = '/zot/auth/callback';
export const LOGOUT_PATH = '/zot/auth/logout';
const LOGIN_COOKIE = 'zot_login';
const LOGIN_TTL_SECONDS = 600;

export interface OpenIdRoutesOptions {
  providers: readonly OpenIdProvider[];
  sessions: SessionManager;
  /** Records used login states (the same store as the sessions, so replicas share it). */
  store: SessionStore;
  sealer: CookieSealer;
  /** Absolute origins `callback_ui` may point to (zot's `callbackAllowOrigins`); otherwise only same-origin paths. */
  callbackAllowOrigins?: readonly string[];
  logger?: Logger;
}

interface LoginCookie extends PendingLogin {
  provider: string;
  callbackUi: string;
}

export function openIdRoutes(options: OpenIdRoutesOptions): RouteDefinition[] {
  const { sessions, store, sealer, logger } = options;
  const providers = new Map(options.providers.map((p) => [p.name, p]));
  const allowedOrigins = new Set((options.callbackAllowOrigins ?? []).map((o) => new URL(o).origin));
  const common = { action: 'none' as const, public: true, tag: 'auth' };

  function checkCallbackUi(value: string | null): string {
    if (value === null || value === '') return '';
    if (value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\')) return value;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw badRequest('callback_ui must be a path on this registry or an allowed origin');
    }
    if (!allowedOrigins.has(url.origin)) throw badRequest('callback_ui must be a path on this registry or an allowed origin');
    return url.href;
  }

  const login: RouteDefinition = {
    ...common,
    method: 'GET',
    template: LOGIN_PATH,
    operationId: 'openIdLogin',
    summary: 'Log in with an OpenID Connect or OAuth2 provider (redirects to it)',
    query: { provider: 'a configured provider: oidc, google, gitlab, github', callback_ui: 'where to go once logged in' },
    responses: { 302: 'to the provider', 400: 'unknown provider or callback_ui' },
    async handle({ request }) {
      const name = request.query.get('provider') ?? '';
      const provider = providers.get(name);
      if (!provider) throw badRequest('unknown provider');
      const callbackUi = checkCallbackUi(request.query.get('callback_ui'));
      const { url, pending } = await provider.start();
      const expiresAt = Date.now() + LOGIN_TTL_SECONDS * 1000;
      const value: LoginCookie = { ...pending, provider: name, callbackUi };
      const cookie = setCookie(LOGIN_COOKIE, sealer.seal(value, expiresAt, { secret: true }), {
        path: CALLBACK_BASE_PATH,
        maxAgeSeconds: LOGIN_TTL_SECONDS,
        secure: sessions.secure,
        sameSite: 'Lax',
      });
      return redirect(url.href, { 'Set-Cookie': cookie });
    },
  };

  const callbacks: RouteDefinition[] = [...providers.values()].map((provider) => ({
    ...common,
    method: 'GET',
    template: `${CALLBACK_BASE_PATH}/${provider.name}`,
    operationId: `openIdCallback_${provider.name.replace(/[^A-Za-z0-9]/g, '_')}`,
    summary: `The ${provider.name} provider returns here: starts a session`,
    responses: { 201: 'logged in', 302: 'logged in: to callback_ui', 401: 'login refused' },
    async handle({ request }) {
      const pending = sealer.unseal(cookieValue(request.headers['cookie'], LOGIN_COOKIE)) as LoginCookie | undefined;
      if (!pending || pending.provider !== provider.name) throw refused('no login in progress for this provider (or it expired)');
      if (!(await store.useOnce(`login:${pending.state}`, LOGIN_TTL_SECONDS))) throw refused('this login was already completed');
      const callbackUrl = new URL(provider.options.redirectUri);
      callbackUrl.search = request.query.toString();
      let user;
      try {
        user = await provider.finish(callbackUrl, pending);
      } catch (err) {
        if (err instanceof LoginRefusedError) {
          logger?.info({ provider: provider.name, reason: err.message }, 'single sign-on refused');
          throw refused('login refused by the provider');
        }
        throw err;
      }
      const cookies = await sessions.start({ username: user.username, groups: user.groups, method: `openid:${provider.name}` });
      // The one-time login cookie goes too.
      cookies.push(setCookie(LOGIN_COOKIE, '', { path: CALLBACK_BASE_PATH, maxAgeSeconds: 0, secure: sessions.secure, sameSite: 'Lax' }));
      if (pending.callbackUi) return { ...redirect(pending.callbackUi, {}), cookies };
      return { status: 201, headers: { 'Content-Length': '0', 'Cache-Control': 'no-store' }, cookies };
    },
  }));

  const logout: RouteDefinition = {
    ...common,
    method: 'POST',
    template: LOGOUT_PATH,
    operationId: 'logout',
    summary: 'End the session',
    responses: { 200: 'logged out' },
    async handle({ request }) {
      request.body?.resume();
      const cookies = await sessions.end(request.headers['cookie']);
      return { status: 200, headers: { 'Content-Length': '0', 'Cache-Control': 'no-store' }, cookies };
    },
  };

  return [login, ...callbacks, logout];
}

function redirect(location: string, headers: Record<string, string>): RegistryResponse {
  return { status: 302, headers: { Location: location, 'Content-Length': '0', 'Cache-Control': 'no-store', ...headers } };
}

function badRequest(message: string): RegistryError {
  return new RegistryError('UNSUPPORTED', message, { status: 400 });
}

function refused(message: string): RegistryError {
  return new RegistryError('UNAUTHORIZED', message);
}
