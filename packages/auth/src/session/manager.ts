/**
 * Logged-in browser sessions: a random session id in a sealed `session` cookie (HttpOnly,
 * SameSite=Lax, Secure over HTTPS or with zot's `secureSession`), the session itself in a
 * {@link SessionStore}. Logging out deletes it from the store, so the cookie is dead everywhere.
 */
import { randomBytes } from 'node:crypto';
import type { AuthRequest, AuthResult, Authenticator, ChallengeContext, Identity, Logger } from '@zotjs/core';
import { cookieValue, setCookie, type CookieSealer } from './cookie.js';
import type { SessionStore } from './store.js';

export const SESSION_COOKIE = 'session';

export interface SessionManagerOptions {
  store: SessionStore;
  sealer: CookieSealer;
  /** Set the cookie's Secure attribute (zot: always with TLS, else `secureSession`). */
  secure: boolean;
  /** Session lifetime in seconds (default 7 days, zot's cookie lifetime). */
  ttlSeconds?: number;
  logger?: Logger;
  now?: () => number;
}

export class SessionManager {
  readonly ttlSeconds: number;
  private readonly now: () => number;

  constructor(private readonly options: SessionManagerOptions) {
    this.ttlSeconds = options.ttlSeconds ?? 7 * 24 * 3600;
    this.now = options.now ?? Date.now;
  }

  get secure(): boolean {
    return this.options.secure;
  }

  /** Starts a session for `identity`; resolves the Set-Cookie header value. */
  async create(identity: Identity): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = now + this.ttlSeconds * 1000;
    await this.options.store.set(id, {
      username: identity.username,
      groups: [...identity.groups],
      method: identity.method,
      createdAt: now,
      expiresAt,
    });
    this.options.logger?.info({ username: identity.username, method: identity.method }, 'session started');
    return setCookie(SESSION_COOKIE, this.options.sealer.seal(id, expiresAt), this.attributes(this.ttlSeconds));
  }

  /**
   * Starts a session and resolves the cookies a browser gets, as zot sets them: the sealed,
   * HttpOnly `session` cookie and the readable `user` cookie its UI shows the login name from.
   */
  async start(identity: Identity): Promise<string[]> {
    const session = await this.create(identity);
    return [session, userCookie(identity.username, this.options.secure, this.ttlSeconds)];
  }

  /** Ends the session; resolves the cookies that clear `session` and `user`. */
  async end(cookieHeader: string | undefined): Promise<string[]> {
    return [await this.destroy(cookieHeader), userCookie('', this.options.secure, 0)];
  }

  /** The identity of the session the request's cookie names, if it is alive. */
  async identify(cookieHeader: string | undefined): Promise<Identity | undefined> {
    const id = this.sessionId(cookieHeader);
    if (id === undefined) return undefined;
    const data = await this.options.store.get(id);
    return data ? { username: data.username, groups: data.groups, method: 'session' } : undefined;
  }

  /** Ends the session; resolves the Set-Cookie header value that clears the cookie. */
  async destroy(cookieHeader: string | undefined): Promise<string> {
    const id = this.sessionId(cookieHeader);
    if (id !== undefined) await this.options.store.delete(id);
    return setCookie(SESSION_COOKIE, '', this.attributes(0));
  }

  private sessionId(cookieHeader: string | undefined): string | undefined {
    const id = this.options.sealer.unseal(cookieValue(cookieHeader, SESSION_COOKIE), this.now());
    return typeof id === 'string' ? id : undefined;
  }

  private attributes(maxAgeSeconds: number) {
    return { path: '/', maxAgeSeconds, secure: this.options.secure, sameSite: 'Lax' as const };
  }
}

/** zot's `user` cookie: the login name, readable by the UI's scripts (not HttpOnly; it grants nothing). */
export const USER_COOKIE = 'user';

function userCookie(username: string, secure: boolean, maxAgeSeconds: number): string {
  return `${USER_COOKIE}=${encodeURIComponent(username)}; Path=/; Max-Age=${maxAgeSeconds}; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** zot's UI marks its calls with this header; only such calls are authenticated by the session cookie. */
export const SESSION_CLIENT_HEADER = 'x-zot-api-client';

/**
 * Authenticates requests by their session cookie. As zot does, only when the request carries
 * `X-ZOT-API-CLIENT: zot-ui`: a custom header cannot be sent cross-site without a CORS preflight,
 * so another site cannot ride the cookie (CSRF).
 */
export class SessionAuthenticator implements Authenticator {
  constructor(
    private readonly sessions: SessionManager,
    private readonly options: { realm: string; requireClientHeader?: boolean },
  ) {}

  challenge(_context?: ChallengeContext): string {
    return `Basic realm="${this.options.realm.replace(/["\\]/g, '')}"`;
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const cookie = request.headers['cookie'];
    if (!cookie) return { kind: 'anonymous' };
    if ((this.options.requireClientHeader ?? true) && request.headers[SESSION_CLIENT_HEADER] !== 'zot-ui') return { kind: 'anonymous' };
    const identity = await this.sessions.identify(cookie);
    // An unknown or expired session is simply no login: the request goes on anonymous.
    return identity ? { kind: 'authenticated', identity } : { kind: 'anonymous' };
  }
}

/**
 * zot's browser login with a password: a basic-auth `GET /v2/` from its UI (`X-ZOT-API-CLIENT:
 * zot-ui`) that succeeds also starts a session, so the UI stays logged in across reloads with
 * the cookie alone. Other requests are passed through untouched.
 */
export class BrowserLoginAuthenticator implements Authenticator {
  readonly challengesInsufficientScope: boolean;

  constructor(
    private readonly basic: Authenticator,
    private readonly sessions: SessionManager,
  ) {
    this.challengesInsufficientScope = basic.challengesInsufficientScope ?? false;
  }

  challenge(context?: ChallengeContext): string {
    return this.basic.challenge(context);
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const result = await this.basic.authenticate(request);
    if (
      result.kind !== 'authenticated' ||
      request.path !== '/v2/' ||
      request.method !== 'GET' ||
      request.headers[SESSION_CLIENT_HEADER] !== 'zot-ui' ||
      !/^basic\s/i.test(request.headers['authorization'] ?? '')
    )
      return result;
    return { ...result, cookies: [...(result.cookies ?? []), ...(await this.sessions.start(result.identity))] };
  }
}
