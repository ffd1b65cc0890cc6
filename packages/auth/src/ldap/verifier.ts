/**
 * LDAP login, zot's flow: bind as the service account, search the user by an escaped filter,
 * bind as the DN found with the given password. Connections are reused (one for searches, a
 * small pool for user binds), every operation has a deadline, and a server that is down makes
 * {@link BackendUnavailableError} quickly instead of a hanging request.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '@zotjs/core';
import { BackendUnavailableError, type PasswordVerifier, type VerifyOutcome } from '../verifier.js';
import { LdapConnection, LdapOperationError, type LdapConnectionOptions } from './connection.js';
import { userSearchFilter } from './escape.js';

export type LdapTransport = 'plain' | 'starttls' | 'ldaps';

export interface LdapVerifierOptions {
  address: string;
  port?: number;
  transport: LdapTransport;
  /** PEM CA bundle for the server's certificate (default: Node's bundled roots). */
  ca?: string;
  skipVerify?: boolean;
  baseDN: string;
  userAttribute: string;
  userFilter?: string;
  userGroupAttribute?: string;
  subtreeSearch?: boolean;
  bindDN?: string | undefined;
  bindPassword?: string | undefined;
  /** Deadline for connecting and for each operation (default 5000 ms). */
  timeoutMs?: number;
  /** How long a successful login is cached (default 60 s). */
  cacheTtlMs?: number;
  /** Idle user-bind connections kept open (default 4). */
  poolSize?: number;
  /** Idle connections are closed after this long (default 30 s). */
  idleMs?: number;
  logger?: Logger;
}

interface Pooled {
  connection: LdapConnection;
  idleTimer?: NodeJS.Timeout;
}

// Result codes that mean "these credentials are not good" rather than "the server is broken".
const CREDENTIAL_FAILURES = new Set([
  49, // invalidCredentials
  53, // unwillingToPerform (empty password, disabled account)
  48, // inappropriateAuthentication
  50, // insufficientAccessRights (password policy lockout)
  19, // constraintViolation (password policy)
]);

export class LdapVerifier implements PasswordVerifier {
  readonly name = 'ldap';
  readonly cacheTtlMs: number;
  private readonly connectionOptions: LdapConnectionOptions;
  private readonly timeoutMs: number;
  private readonly poolSize: number;
  private readonly idleMs: number;
  private searcher: Promise<LdapConnection> | undefined;
  private readonly idle: Pooled[] = [];
  private closed = false;

  constructor(private readonly options: LdapVerifierOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.poolSize = options.poolSize ?? 4;
    this.idleMs = options.idleMs ?? 30_000;
    const secure = options.transport === 'ldaps';
    const port = options.port ?? (secure ? 636 : 389);
    const host = isIP(options.address) === 6 ? `[${options.address}]` : options.address;
    const tls: ConnectionOptions = {
      host: options.address,
      rejectUnauthorized: !options.skipVerify,
      minVersion: 'TLSv1.2',
      ...(options.ca ? { ca: [options.ca] } : {}),
      // SNI takes host names only; Node refuses an IP address there.
      ...(isIP(options.address) === 0 ? { servername: options.address } : {}),
    };
    this.connectionOptions = {
      url: `${secure ? 'ldaps' : 'ldap'}://${host}:${port}`,
      tls,
      startTLS: options.transport === 'starttls',
      timeoutMs: this.timeoutMs,
    };
  }

  async verify(username: string, password: string): Promise<VerifyOutcome> {
    // RFC 4513 5.1.2: a bind with a DN and no password is an anonymous bind, never a login.
    if (password === '') return { ok: false, reason: 'empty-password' };
    const entry = await this.findUser(username);
    if (!entry) return { ok: false, reason: 'unknown-user' };
    const ok = await this.bindAsUser(entry.dn, password);
    if (!ok) return { ok: false, reason: 'wrong-password' };
    return { ok: true, groups: this.groupsOf(entry.attributes) };
  }

  async close(): Promise<void> {
    this.closed = true;
    const searcher = this.searcher;
    this.searcher = undefined;
    if (searcher) (await searcher.catch(() => undefined))?.close();
    for (const pooled of this.idle.splice(0)) {
      clearTimeout(pooled.idleTimer);
      pooled.connection.close();
    }
  }

  private async findUser(username: string): Promise<{ dn: string; attributes: Record<string, string[]> } | undefined> {
    const filter = userSearchFilter(this.options.userAttribute, username, this.options.userFilter);
    const attributes = this.options.userGroupAttribute ? [this.options.userGroupAttribute] : ['1.1'];
    const scope = this.options.subtreeSearch ? 'sub' : 'one';
    // One retry: the reused connection may have been dropped by the server since its last use.
    for (let attempt = 0; ; attempt++) {
      let connection: LdapConnection;
      try {
        connection = await this.searchConnection();
      } catch (err) {
        throw this.unavailable('cannot connect or bind as the service account', err);
      }
      try {
        const entries = await connection.search(this.options.baseDN, filter, scope, attributes, 2);
        if (entries.length > 1) {
          this.options.logger?.warn(
            { username, baseDN: this.options.baseDN },
            'LDAP search found several entries for one user; login refused',
          );
          return undefined;
        }
        return entries[0];
      } catch (err) {
        // 4 sizeLimitExceeded: several matches, refused as above.
        if (err instanceof LdapOperationError && err.resultCode === 4) return undefined;
        // 32 noSuchObject: the base DN does not exist: no such user, but worth a log line.
        if (err instanceof LdapOperationError && err.resultCode === 32) {
          this.options.logger?.warn({ baseDN: this.options.baseDN }, 'LDAP base DN not found');
          return undefined;
        }
        this.dropSearcher(connection);
        if (attempt >= 1 || !isConnectionProblem(err)) throw this.unavailable('user search failed', err);
      }
    }
  }

  private async bindAsUser(dn: string, password: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const pooled = await this.acquire().catch((err: unknown) => {
        throw this.unavailable('cannot connect for the user bind', err);
      });
      try {
        await pooled.connection.bind(dn, password);
        this.release(pooled);
        return true;
      } catch (err) {
        if (err instanceof LdapOperationError && err.resultCode !== undefined && CREDENTIAL_FAILURES.has(err.resultCode)) {
          this.release(pooled);
          return false;
        }
        pooled.connection.close();
        if (attempt >= 1 || !isConnectionProblem(err)) throw this.unavailable('user bind failed', err);
      }
    }
  }

  private searchConnection(): Promise<LdapConnection> {
    const current = this.searcher;
    if (current) {
      return current.then(
        (connection) => {
          if (connection.usable) return connection;
          this.dropSearcher(connection);
          return this.searchConnection();
        },
        () => {
          this.searcher = undefined;
          return this.searchConnection();
        },
      );
    }
    if (this.closed) return Promise.reject(new Error('LDAP verifier closed'));
    const opening = (async () => {
      const connection = await LdapConnection.open(this.connectionOptions);
      try {
        if (this.options.bindDN) await connection.bind(this.options.bindDN, this.options.bindPassword ?? '');
      } catch (err) {
        connection.close();
        throw err;
      }
      return connection;
    })();
    this.searcher = opening;
    // A failed open is not kept: the next request tries again.
    opening.catch(() => {
      if (this.searcher === opening) this.searcher = undefined;
    });
    return opening;
  }

  private dropSearcher(connection: LdapConnection): void {
    connection.close();
    void this.searcher?.then(
      (current) => {
        if (current === connection) this.searcher = undefined;
      },
      () => undefined,
    );
  }

  private async acquire(): Promise<Pooled> {
    while (this.idle.length > 0) {
      const pooled = this.idle.pop()!;
      clearTimeout(pooled.idleTimer);
      if (pooled.connection.usable) return pooled;
      pooled.connection.close();
    }
    if (this.closed) throw new Error('LDAP verifier closed');
    return { connection: await LdapConnection.open(this.connectionOptions) };
  }

  private release(pooled: Pooled): void {
    if (this.closed || !pooled.connection.usable || this.idle.length >= this.poolSize) {
      pooled.connection.close();
      return;
    }
    pooled.idleTimer = setTimeout(() => {
      const index = this.idle.indexOf(pooled);
      if (index >= 0) this.idle.splice(index, 1);
      pooled.connection.close();
    }, this.idleMs);
    pooled.idleTimer.unref();
    this.idle.push(pooled);
  }

  /**
   * The user's groups: the raw values of `userGroupAttribute` (often DNs, as memberOf gives) and,
   * for DN values, also the value of their first RDN (`cn=developers,ou=groups,...` -> `developers`),
   * so policies may name groups either way.
   */
  private groupsOf(attributes: Record<string, string[]>): string[] {
    const attribute = this.options.userGroupAttribute?.toLowerCase();
    if (!attribute) return [];
    const groups = new Set<string>();
    for (const value of attributes[attribute] ?? []) {
      groups.add(value);
      const rdn = /^\s*[A-Za-z][A-Za-z0-9-]*\s*=\s*((?:[^,+\\]|\\.)+)/.exec(value);
      if (rdn && value.includes(',')) groups.add(rdn[1]!.trim().replace(/\\(.)/g, '$1'));
    }
    return [...groups];
  }

  private unavailable(what: string, err: unknown): BackendUnavailableError {
    const message = err instanceof Error ? err.message : String(err);
    this.options.logger?.error({ url: this.connectionOptions.url, err: { message } }, `LDAP ${what}`);
    return new BackendUnavailableError('ldap', `LDAP ${what}: ${message}`, { cause: err });
  }
}

function isConnectionProblem(err: unknown): boolean {
  return (
    !(err instanceof LdapOperationError) ||
    err.resultCode === undefined ||
    err.resultCode === 52 ||
    err.resultCode === 80 ||
    err.resultCode === 81
  );
}
