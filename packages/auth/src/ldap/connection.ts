/**
 * The only module that touches ldapjs: a promise-based connection with hard deadlines.
 * ldapjs 3 pitfalls handled here: an unhandled 'error' event would crash the process; without
 * timeouts a request to a hung server waits forever; after a dropped connection requests hang
 * unless the queue is disabled; a callback may fire twice after a TLS error. Swapping the LDAP
 * library means rewriting this file only.
 */
import type { Client } from 'ldapjs';
import type { ConnectionOptions } from 'node:tls';

export interface LdapConnectionOptions {
  /** `ldap://host:port` or `ldaps://host:port`. */
  url: string;
  /** TLS options for LDAPS and StartTLS (CA, rejectUnauthorized, servername). */
  tls: ConnectionOptions;
  startTLS: boolean;
  /** Deadline for connecting and for each operation. */
  timeoutMs: number;
}

export interface LdapEntry {
  dn: string;
  attributes: Record<string, string[]>;
}

/** LDAP result codes the verifier tells apart. */
export class LdapOperationError extends Error {
  constructor(
    message: string,
    /** LDAP result code (49 invalid credentials, 53 unwilling to perform, ...) when the server answered. */
    readonly resultCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LdapOperationError';
  }
}

export class LdapConnection {
  private broken = false;

  private constructor(
    private readonly client: Client,
    private readonly timeoutMs: number,
  ) {}

  static async open(options: LdapConnectionOptions): Promise<LdapConnection> {
    // Loaded on first use: a registry without LDAP never pays ldapjs's memory.
    const { default: ldap } = await import('ldapjs');
    const client = ldap.createClient({
      url: [options.url],
      tlsOptions: options.tls,
      connectTimeout: options.timeoutMs,
      timeout: options.timeoutMs,
      queueDisable: true,
      reconnect: false,
    });
    const connection = new LdapConnection(client, options.timeoutMs);
    // Always listened for: an 'error' without a listener would crash the registry.
    client.on('error', () => {
      connection.broken = true;
    });
    client.on('close', () => {
      connection.broken = true;
    });
    client.on('timeout', () => {
      connection.broken = true;
    });
    try {
      await connection.deadline('connect', (done) => {
        client.once('connect', () => done(undefined));
        client.once('connectError', (err: unknown) => done(err));
        client.once('connectTimeout', (err: unknown) => done(err ?? new Error('connect timeout')));
        client.once('error', (err: unknown) => done(err));
      });
      if (options.startTLS) {
        await connection.deadline('starttls', (done) => client.starttls(options.tls, [], (err: unknown) => done(err)));
      }
    } catch (err) {
      connection.close();
      throw err;
    }
    return connection;
  }

  /** False once the socket failed, closed or timed out: the pool opens a new one. */
  get usable(): boolean {
    return !this.broken && this.client.connected;
  }

  async bind(dn: string, password: string): Promise<void> {
    await this.deadline('bind', (done) => this.client.bind(dn, password, (err: unknown) => done(err)));
  }

  async search(base: string, filter: string, scope: 'one' | 'sub' | 'base', attributes: string[], sizeLimit: number): Promise<LdapEntry[]> {
    return this.deadline<LdapEntry[]>('search', (done) => {
      this.client.search(base, { filter, scope, attributes, sizeLimit, timeLimit: Math.ceil(this.timeoutMs / 1000) }, (err, res) => {
        if (err) return done(err);
        const entries: LdapEntry[] = [];
        res.on('searchEntry', (entry) => {
          const attrs: Record<string, string[]> = {};
          for (const attribute of entry.pojo.attributes) attrs[attribute.type.toLowerCase()] = attribute.values.map(String);
          entries.push({ dn: entry.pojo.objectName ?? String(entry.dn), attributes: attrs });
        });
        res.on('error', (error: unknown) => done(error));
        res.on('end', (result) => {
          const status = result?.status ?? 0;
          if (status !== 0) done(new LdapOperationError(`search ended with result code ${status}`, status));
          else done(undefined, entries);
        });
      });
    });
  }

  close(): void {
    this.broken = true;
    try {
      this.client.destroy();
    } catch {
      // Already gone.
    }
  }

  /**
   * Runs one callback-style operation with a once-only settle and a hard deadline (ldapjs's own
   * timeout does not cover every path). A timed-out connection is marked broken and closed.
   */
  private deadline<T = void>(what: string, start: (done: (err: unknown, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.close();
        reject(new LdapOperationError(`LDAP ${what} timed out after ${this.timeoutMs} ms`, undefined));
      }, this.timeoutMs);
      const done = (err: unknown, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(toOperationError(what, err));
        else resolve(value as T);
      };
      try {
        start(done);
      } catch (err) {
        done(err);
      }
    });
  }
}

function toOperationError(what: string, err: unknown): LdapOperationError {
  if (err instanceof LdapOperationError) return err;
  const e = err as { code?: unknown; lde_message?: string; message?: string; name?: string };
  const code = typeof e.code === 'number' ? e.code : undefined;
  // The message may name the DN but never carries a password.
  return new LdapOperationError(`LDAP ${what} failed: ${e.name ?? 'Error'}${e.message ? `: ${e.message}` : ''}`, code, { cause: err });
}
