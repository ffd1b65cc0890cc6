/**
 * One login provider of zot's `http.auth.openid.providers`: OpenID Connect (`oidc`, `google`,
 * `gitlab`: discovery from `issuer`, an ID token checked for its nonce) or GitHub's plain OAuth2
 * (`github`: no ID token; the user's primary e-mail, organisations and teams come from its API).
 * Every flow is the authorization-code flow with PKCE (S256) and a state, through openid-client.
 */
import * as client from 'openid-client';
import type { Logger } from '@zotjs/core';

export type ProviderKind = 'oidc' | 'github';

export interface OpenIdProviderOptions {
  /** The provider's name in the config and the callback path (`/zot/auth/callback/<name>`). */
  name: string;
  kind: ProviderKind;
  clientId: string;
  clientSecret?: string;
  /** OIDC: the issuer URL (discovery at `<issuer>/.well-known/openid-configuration`). */
  issuer?: string;
  /** GitHub (Enterprise): authorization and token endpoints and the API base (defaults: github.com). */
  authUrl?: string;
  tokenUrl?: string;
  apiUrl?: string;
  scopes: readonly string[];
  /** zot's claimMapping: the claim that names the user (default `email`) and the one listing groups (default `groups`). */
  claimMapping?: { username?: string; groups?: string };
  /** The redirect URI registered at the provider: `<externalUrl>/zot/auth/callback/<name>`. */
  redirectUri: string;
  /** Allow http:// issuers (tests and local identity providers only). */
  allowInsecureRequests?: boolean;
  logger?: Logger;
}

/** What a login needs to remember between the redirect and the callback (sealed in a cookie). */
export interface PendingLogin {
  state: string;
  nonce?: string;
  codeVerifier: string;
}

export interface ProviderUser {
  username: string;
  groups: string[];
}

/** The provider answered something a login cannot be made of: answered 401, the reason logged. */
export class LoginRefusedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoginRefusedError';
  }
}

export class OpenIdProvider {
  private configuration: Promise<client.Configuration> | undefined;

  constructor(readonly options: OpenIdProviderOptions) {
    if (options.kind === 'oidc' && !options.issuer) throw new Error(`openid provider ${options.name}: issuer is required`);
  }

  get name(): string {
    return this.options.name;
  }

  /** The provider's authorization URL for a new login, and what the callback must check. */
  async start(): Promise<{ url: URL; pending: PendingLogin }> {
    const config = await this.config();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const parameters: Record<string, string> = {
      redirect_uri: this.options.redirectUri,
      scope: this.scopes().join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
    };
    const pending: PendingLogin = { state, codeVerifier };
    if (this.options.kind === 'oidc') {
      pending.nonce = client.randomNonce();
      parameters['nonce'] = pending.nonce;
    }
    return { url: client.buildAuthorizationUrl(config, parameters), pending };
  }

  /** Exchanges the callback's code (state, PKCE and nonce checked) and maps the user. */
  async finish(callbackUrl: URL, pending: PendingLogin): Promise<ProviderUser> {
    const config = await this.config();
    let tokens;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        ...(pending.nonce !== undefined ? { expectedNonce: pending.nonce } : {}),
        idTokenExpected: this.options.kind === 'oidc',
      });
    } catch (err) {
      throw new LoginRefusedError(`the ${this.name} login could not be completed: ${(err as Error).message}`, { cause: err });
    }
    if (this.options.kind === 'github') return this.githubUser(tokens.access_token);
    const claims: Record<string, unknown> = { ...(tokens.claims() ?? {}) };
    const usernameClaim = this.options.claimMapping?.username || 'email';
    const groupsClaim = this.options.claimMapping?.groups || 'groups';
    // Claims the ID token lacks may be in the userinfo answer (many providers keep email and groups there).
    if ((claims[usernameClaim] === undefined || claims[groupsClaim] === undefined) && config.serverMetadata().userinfo_endpoint) {
      try {
        const info = await client.fetchUserInfo(config, tokens.access_token, String(claims['sub']));
        for (const [k, v] of Object.entries(info)) if (claims[k] === undefined) claims[k] = v;
      } catch (err) {
        this.options.logger?.warn({ provider: this.name, err: { message: (err as Error).message } }, 'userinfo request failed');
      }
    }
    const username = claims[usernameClaim];
    if (typeof username !== 'string' || username === '')
      throw new LoginRefusedError(`the ${this.name} identity has no ${usernameClaim} claim`);
    const rawGroups = claims[groupsClaim];
    const groups = Array.isArray(rawGroups)
      ? rawGroups.filter((g): g is string => typeof g === 'string')
      : typeof rawGroups === 'string'
        ? [rawGroups]
        : [];
    return { username, groups };
  }

  private scopes(): string[] {
    const scopes = [...this.options.scopes];
    // The openid scope comes first for OIDC providers, as zot adds it.
    if (this.options.kind === 'oidc' && !scopes.includes('openid')) scopes.unshift('openid');
    return scopes;
  }

  private config(): Promise<client.Configuration> {
    this.configuration ??= this.discover().catch((err: unknown) => {
      // Discovery is retried on the next login rather than remembered as failed.
      this.configuration = undefined;
      throw err;
    });
    return this.configuration;
  }

  private async discover(): Promise<client.Configuration> {
    const auth = this.options.clientSecret ? client.ClientSecretBasic(this.options.clientSecret) : client.None();
    const metadata = this.options.clientSecret ? { client_secret: this.options.clientSecret } : {};
    if (this.options.kind === 'github') {
      const server: client.ServerMetadata = {
        issuer: 'https://github.com',
        authorization_endpoint: this.options.authUrl ?? 'https://github.com/login/oauth/authorize',
        token_endpoint: this.options.tokenUrl ?? 'https://github.com/login/oauth/access_token',
      };
      const config = new client.Configuration(server, this.options.clientId, metadata, auth);
      if (this.options.allowInsecureRequests) client.allowInsecureRequests(config);
      return config;
    }
    return client.discovery(new URL(this.options.issuer!), this.options.clientId, metadata, auth, {
      ...(this.options.allowInsecureRequests ? { execute: [client.allowInsecureRequests] } : {}),
    });
  }

  private async githubUser(accessToken: string): Promise<ProviderUser> {
    const api = (this.options.apiUrl ?? 'https://api.github.com').replace(/\/$/, '');
    const get = async (path: string): Promise<unknown> => {
      const response = await fetch(`${api}${path}`, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/vnd.github+json', 'user-agent': 'zot-ts' },
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) throw new LoginRefusedError(`GitHub API ${path} answered ${response.status}`);
      return response.json();
    };
    const emails = (await get('/user/emails')) as { email?: string; primary?: boolean }[];
    const primary = Array.isArray(emails) ? emails.find((e) => e.primary)?.email : undefined;
    if (!primary) throw new LoginRefusedError('the GitHub account has no primary e-mail address');
    const groups: string[] = [];
    const orgs = (await get('/user/orgs')) as { login?: string }[];
    for (const org of Array.isArray(orgs) ? orgs : []) if (org.login) groups.push(org.login);
    // Teams as `<org>/<team-slug>` (zot's format, casing kept), when read:org was granted.
    if (this.options.scopes.includes('read:org')) {
      const teams = (await get('/user/teams').catch(() => [])) as { slug?: string; organization?: { login?: string } }[];
      for (const team of Array.isArray(teams) ? teams : [])
        if (team.slug && team.organization?.login) groups.push(`${team.organization.login}/${team.slug}`);
    }
    return { username: primary, groups };
  }
}
