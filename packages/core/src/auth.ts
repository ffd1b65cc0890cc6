/**
 * Authentication and authorization interfaces. Core calls them for every request; the
 * implementations (htpasswd, LDAP, mutual TLS, access-control policy) live in `@zotjs/auth`, and
 * an embedder may plug in their own.
 */

/** Who is making a request, once authenticated. */
export interface Identity {
  /** User name, or the subject CN of a verified client certificate. */
  readonly username: string;
  /** Groups the user belongs to (for access-control policies). */
  readonly groups: readonly string[];
  /** How the identity was established, for logs: 'basic', 'mtls', or an embedder's own word. */
  readonly method: string;
  /** What the credential itself allows (a bearer token's access claims, an API key's scopes); absent: no limit of its own. */
  readonly access?: CredentialAccess;
}

/**
 * Access carried by a credential rather than granted by the policy: a bearer token's `access`
 * claims (decided by the token service that issued it), or the repositories an API key was
 * restricted to. Core checks it on every repository the request touches.
 */
export interface CredentialAccess {
  /**
   * 'replaces-policy': the credential alone decides (a token service already applied the policy
   * when it issued the token; zot and distribution do not consult accessControl for such
   * tokens). 'narrows-policy': both the credential and the Authorizer must allow.
   */
  readonly mode: 'replaces-policy' | 'narrows-policy';
  allows(repository: string, action: Action): boolean;
  /** May the caller list the catalog (a token's `registry:catalog:*`)? Absent: as the policy says. */
  allowsCatalog?(): boolean;
}

/** What an authenticator may look at. Header names are lowercase. */
export interface AuthRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly remoteAddress?: string;
  /** Present when the connection is TLS and the client presented a certificate the server verified. */
  readonly clientCertificate?: ClientCertificate | undefined;
}

/** A client certificate the TLS layer verified: the fields zot's `mtls.identityAttributes` choose from. */
export interface ClientCertificate {
  readonly subjectCommonName?: string | undefined;
  /** The subject DN as Go's `pkix.Name.String()` writes it (zot's `Subject`): `CN=app,OU=ops,O=Example,C=US`. */
  readonly subject?: string | undefined;
  /** Subject alternative names, in certificate order. */
  readonly emails?: readonly string[] | undefined;
  readonly uris?: readonly string[] | undefined;
  readonly dnsNames?: readonly string[] | undefined;
}

export type AuthResult =
  /**
   * Valid credentials. `cookies`: Set-Cookie values the answer carries when the authenticator
   * started a browser session with this request (zot's UI login with basic credentials).
   */
  | { readonly kind: 'authenticated'; readonly identity: Identity; readonly cookies?: readonly string[] }
  /**
   * No credentials presented: the request goes on as anonymous (the authorizer decides). An
   * anonymous bearer token carries `access` (what the token service granted anonymous callers).
   */
  | { readonly kind: 'anonymous'; readonly access?: CredentialAccess }
  /** Credentials presented but wrong: answered 401 whatever the policy. */
  | { readonly kind: 'rejected'; readonly reason: string };

/** What a 401 or 403 answer is about, so a token challenge can name the exact scope the request needs. */
export interface ChallengeContext {
  /** The repository the request needs access to; absent for `/v2/` and the catalog. */
  readonly repository?: string;
  /** The access-control action it needs there. */
  readonly action?: Action;
  /** The request lists the catalog. */
  readonly catalog?: boolean;
  /**
   * Why: 'insufficient_scope' when a valid credential lacks the access (RFC 6750 §3.1),
   * 'invalid_token' when the presented token was refused; absent when none was presented.
   */
  readonly error?: 'insufficient_scope' | 'invalid_token';
}

export interface Authenticator {
  authenticate(request: AuthRequest): Promise<AuthResult>;
  /**
   * The `WWW-Authenticate` header value sent with 401 answers, e.g. `Basic realm="zot"`. Token
   * authenticators use `context` to name the scope (`Bearer realm=...,scope="repository:x:pull"`).
   */
  challenge(context?: ChallengeContext): string;
  /**
   * Whether a credential that is valid but lacks access is answered with the challenge as well
   * (403 with `WWW-Authenticate: ... error="insufficient_scope"`) rather than a plain 403.
   */
  readonly challengesInsufficientScope?: boolean;
}

/** The access-control actions, as in zot's `accessControl` policies. */
export type Action = 'read' | 'create' | 'update' | 'delete';

export interface Authorizer {
  /**
   * May `identity` (undefined for anonymous) perform `action` on `repository`?
   * Resolves to false to deny: core answers 401 for anonymous callers and 403 otherwise.
   */
  authorize(identity: Identity | undefined, repository: string, action: Action): boolean | Promise<boolean>;
  /** Whether anonymous callers may reach `GET /v2/` (true when some repository is anonymously readable). */
  allowsAnonymousBase?(): boolean;
}
