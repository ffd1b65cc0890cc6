/** The contract shared by the password backends (htpasswd file, LDAP, or an embedder's own). */

export type VerifyOutcome =
  | { readonly ok: true; readonly groups: readonly string[] }
  | { readonly ok: false; readonly reason: 'unknown-user' | 'wrong-password' | 'empty-password' };

export interface PasswordVerifier {
  /** For logs: 'htpasswd', 'ldap', ... */
  readonly name: string;
  /**
   * Checks a user name and password. Resolves `{ ok: false }` for bad credentials; rejects with
   * {@link BackendUnavailableError} when the backend cannot answer (a server down, a timeout).
   */
  verify(username: string, password: string): Promise<VerifyOutcome>;
  /**
   * A number that changes when the backend's data changes (the htpasswd file was edited):
   * logins cached under an older version are forgotten. Backends without one rely on the cache's TTL.
   */
  version?(): Promise<number>;
  /** How long a successful login may be served from the cache, in milliseconds. */
  readonly cacheTtlMs: number;
  close?(): Promise<void>;
}

/** The backend could not check the credentials (not the same as wrong credentials). */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}
