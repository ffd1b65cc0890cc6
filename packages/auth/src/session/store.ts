/**
 * Where logged-in sessions live (zot's `sessionDriver`): `local` keeps one small file per session
 * in a folder under the storage root (sessions survive a restart and are shared by the workers
 * of one machine), `redis` keeps them in Redis (shared by replicas anywhere). Both also record
 * one-time values (OIDC login states), so a replayed callback is refused on every replica.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Redis as RedisClient } from 'ioredis';
import type { RedisStoreOptions } from '../apikey/store.js';

export interface SessionData {
  username: string;
  groups: string[];
  /** How the user logged in: 'openid:<provider>', 'basic', ... */
  method: string;
  /** Epoch milliseconds. */
  createdAt: number;
  expiresAt: number;
}

export interface SessionStore {
  get(id: string): Promise<SessionData | undefined>;
  set(id: string, data: SessionData): Promise<void>;
  delete(id: string): Promise<void>;
  /** Records a one-time value for `ttlSeconds`; false when it was already recorded (a replay). */
  useOnce(value: string, ttlSeconds: number): Promise<boolean>;
  /**
   * The value stored under `name`, storing `candidate` first if there is none: every process
   * using this store gets the same one (random cookie keys when no sessionKeysFile is given).
   */
  sharedSecret(name: string, candidate: string): Promise<string>;
  close(): Promise<void>;
}

const digest = (value: string): string => createHash('sha256').update(value).digest('hex');

export class LocalSessionStore implements SessionStore {
  private readonly sessions: string;
  private readonly once: string;
  private lastSweep = 0;

  /** `directory`: a folder of its own, e.g. `<rootDirectory>/_sessions` (created 0700). */
  constructor(
    readonly directory: string,
    private readonly now: () => number = Date.now,
  ) {
    this.sessions = join(directory, 'sessions');
    this.once = join(directory, 'once');
  }

  async get(id: string): Promise<SessionData | undefined> {
    let data: SessionData;
    try {
      data = JSON.parse(await readFile(join(this.sessions, digest(id)), 'utf8')) as SessionData;
    } catch {
      return undefined;
    }
    if (data.expiresAt <= this.now()) {
      await this.delete(id);
      return undefined;
    }
    return data;
  }

  async set(id: string, data: SessionData): Promise<void> {
    await mkdir(this.sessions, { recursive: true, mode: 0o700 });
    const path = join(this.sessions, digest(id));
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(JSON.stringify(data));
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    await this.sweep();
  }

  async delete(id: string): Promise<void> {
    await rm(join(this.sessions, digest(id)), { force: true });
  }

  async useOnce(value: string, ttlSeconds: number): Promise<boolean> {
    await mkdir(this.once, { recursive: true, mode: 0o700 });
    const path = join(this.once, digest(value));
    try {
      const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      await handle.writeFile(String(this.now() + ttlSeconds * 1000));
      await handle.close();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  async sharedSecret(name: string, candidate: string): Promise<string> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const path = join(this.directory, `${name}.secret`);
    try {
      const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(candidate);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // Another process made it; it may still be writing.
    for (let i = 0; i < 50; i++) {
      const text = await readFile(path, 'utf8');
      if (text.length >= candidate.length) return text;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`${path} is incomplete: remove it to have a new one made`);
  }

  async close(): Promise<void> {}

  /** Removes expired sessions and one-time records, at most once a minute. */
  private async sweep(): Promise<void> {
    if (this.now() - this.lastSweep < 60_000) return;
    this.lastSweep = this.now();
    for (const folder of [this.sessions, this.once]) {
      const names = await readdir(folder).catch(() => [] as string[]);
      for (const name of names) {
        const path = join(folder, name);
        try {
          const text = await readFile(path, 'utf8');
          const expiresAt = folder === this.once ? Number(text) : (JSON.parse(text) as SessionData).expiresAt;
          if (expiresAt <= this.now()) await rm(path, { force: true });
        } catch {
          // A half-written temporary file of another process: old ones go.
          const info = await stat(path).catch(() => undefined);
          if (info && this.now() - info.mtimeMs > 3_600_000) await rm(path, { force: true });
        }
      }
    }
  }
}

/** zot's `sessionDriver: {name: redis, url, keyprefix}`. */
export class RedisSessionStore implements SessionStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;

  constructor(
    options: RedisStoreOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.redis = new (loadRedis())(options.url, { maxRetriesPerRequest: 2 });
    this.redis.on('error', () => {});
    this.prefix = options.keyPrefix ?? 'zotsession';
  }

  async get(id: string): Promise<SessionData | undefined> {
    const text = await this.redis.get(`${this.prefix}:session:${digest(id)}`);
    if (text === null) return undefined;
    const data = JSON.parse(text) as SessionData;
    return data.expiresAt > this.now() ? data : undefined;
  }

  async set(id: string, data: SessionData): Promise<void> {
    const ttl = Math.max(1, Math.ceil((data.expiresAt - this.now()) / 1000));
    await this.redis.set(`${this.prefix}:session:${digest(id)}`, JSON.stringify(data), 'EX', ttl);
  }

  async delete(id: string): Promise<void> {
    await this.redis.del(`${this.prefix}:session:${digest(id)}`);
  }

  async useOnce(value: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:once:${digest(value)}`, '1', 'EX', Math.max(1, ttlSeconds), 'NX')) === 'OK';
  }

  async sharedSecret(name: string, candidate: string): Promise<string> {
    const key = `${this.prefix}:secret:${name}`;
    await this.redis.set(key, candidate, 'NX');
    const value = await this.redis.get(key);
    if (value === null) throw new Error(`Redis lost ${key}`);
    return value;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** ioredis, loaded when a Redis store is made (it is heavy, and most registries use none). */
function loadRedis(): typeof RedisClient {
  return (createRequire(import.meta.url)('ioredis') as { Redis: typeof RedisClient }).Redis;
}
