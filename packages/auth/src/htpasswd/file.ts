/**
 * An htpasswd file: parsed once, re-read when it changes on disk (checked at most once per
 * `checkIntervalMs`, on the request path, so no watcher or timer needs closing).
 */
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '@zotjs/core';
import type { PasswordVerifier, VerifyOutcome } from '../verifier.js';
import { bcryptCost, classifyHash, verifyAgainstDummy, verifyPassword, type PasswordHash } from './hashes.js';

export interface HtpasswdParseResult {
  users: Map<string, PasswordHash>;
  /** One line per refused or odd entry: line number and user name, never the hash or password. */
  warnings: string[];
}

export function parseHtpasswd(text: string): HtpasswdParseResult {
  const users = new Map<string, PasswordHash>();
  const warnings: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const colon = line.indexOf(':');
    const lineNo = index + 1;
    if (colon <= 0) {
      warnings.push(`line ${lineNo}: not "user:hash", ignored`);
      return;
    }
    const user = line.slice(0, colon);
    // htpasswd may append fields after the hash (user:hash:comment); only the hash counts.
    const hashField = line
      .slice(colon + 1)
      .split(':')[0]!
      .trim();
    const hash = classifyHash(hashField);
    if (!hash) {
      warnings.push(
        `line ${lineNo}: the entry for user "${user}" is plaintext, crypt(3) or an unknown format and is ignored;` +
          ' use htpasswd -B (bcrypt), -m (apr1), -s (SHA-1) or SHA-crypt ($5$, $6$)',
      );
      return;
    }
    if (users.has(user)) {
      warnings.push(`line ${lineNo}: duplicate entry for user "${user}" ignored (the first one counts)`);
      return;
    }
    users.set(user, hash);
  });
  return { users, warnings };
}

export interface HtpasswdFileOptions {
  logger?: Logger;
  /** How often, at most, the file's metadata is checked for a change (default 1000 ms). */
  checkIntervalMs?: number;
  /** How long a verified login may be cached (default 5 minutes; a file change drops it sooner). */
  cacheTtlMs?: number;
  /** Clock for the check interval (tests). */
  now?: () => number;
}

export class HtpasswdFile implements PasswordVerifier {
  readonly name = 'htpasswd';
  readonly cacheTtlMs: number;
  private users = new Map<string, PasswordHash>();
  private dummyCost = 5;
  private signature = '';
  private currentVersion = 0;
  private lastCheck = 0;
  private checking: Promise<void> | undefined;
  private readonly checkIntervalMs: number;

  private constructor(
    readonly path: string,
    private readonly options: HtpasswdFileOptions,
  ) {
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
    this.cacheTtlMs = options.cacheTtlMs ?? 5 * 60_000;
  }

  /** Loads the file; fails when it cannot be read (a typo in the path must stop startup). */
  static async open(path: string, options: HtpasswdFileOptions = {}): Promise<HtpasswdFile> {
    const file = new HtpasswdFile(path, options);
    const info = await stat(path);
    await file.load(signatureOf(info));
    return file;
  }

  get size(): number {
    return this.users.size;
  }

  async version(): Promise<number> {
    await this.checkForChange();
    return this.currentVersion;
  }

  async verify(username: string, password: string): Promise<VerifyOutcome> {
    await this.checkForChange();
    const hash = this.users.get(username);
    if (!hash) {
      await verifyAgainstDummy(password, this.dummyCost);
      return { ok: false, reason: 'unknown-user' };
    }
    return (await verifyPassword(password, hash)) ? { ok: true, groups: [] } : { ok: false, reason: 'wrong-password' };
  }

  /** Re-reads the file now if its metadata changed (also called on each check interval). */
  async checkForChange(force = false): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    if (!force && now - this.lastCheck < this.checkIntervalMs) return;
    this.lastCheck = now;
    this.checking ??= (async () => {
      try {
        const info = await stat(this.path);
        const signature = signatureOf(info);
        if (signature !== this.signature) await this.load(signature);
      } catch (err) {
        // Keep serving the last good content: a half-written or briefly missing file must not
        // lock everybody out. The log says so.
        this.options.logger?.error(
          { err: describe(err), path: this.path },
          'htpasswd file could not be re-read; keeping the previous users',
        );
      } finally {
        this.checking = undefined;
      }
    })();
    await this.checking;
  }

  private async load(signature: string): Promise<void> {
    const text = await readFile(this.path, 'utf8');
    const { users, warnings } = parseHtpasswd(text);
    for (const warning of warnings) this.options.logger?.warn({ path: this.path }, `htpasswd: ${warning}`);
    this.users = users;
    this.signature = signature;
    this.currentVersion += 1;
    const costs = [...users.values()].map(bcryptCost).filter((c): c is number => c !== undefined);
    this.dummyCost = costs.length ? Math.max(...costs) : 5;
    this.options.logger?.info({ path: this.path, users: users.size, version: this.currentVersion }, 'htpasswd file loaded');
  }
}

function signatureOf(info: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}

function describe(err: unknown): { code?: string; message: string } {
  const e = err as { code?: string; message?: string };
  return { ...(e.code ? { code: e.code } : {}), message: e.message ?? String(err) };
}
