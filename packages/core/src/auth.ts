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
}

/** What an authenticator may look at. Header names are lowercase. */
export interface AuthRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly remoteAddress?: string;
  /** Present when the connection is TLS and the client presented a certificate the server verified. */
  readonly clientCertificate?: { readonly subjectCommonName?: string | undefined } | undefined;
}

export type AuthResult =
  /** Valid credentials. */
  | { readonly kind: 'authenticated'; readonly identity: Identity }
  /** No credentials presented: the request goes on as anonymous (the authorizer decides). */
  | { readonly kind: 'anonymous' }
  /** Credentials presented but wrong: answered 401 whatever the policy. */
  | { readonly kind: 'rejected'; readonly reason: string };

export interface Authenticator {
  authenticate(request: AuthRequest): Promise<AuthResult>;
  /** The `WWW-Authenticate` header value sent with 401 answers, e.g. `Basic realm="zot"`. */
  challenge(): string;
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
