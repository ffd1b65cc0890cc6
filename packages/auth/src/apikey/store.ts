/**
 * Where API keys live: only a SHA-256 of each key is stored (zot's scheme), with its owner, label,
 * scopes and dates. Lookups go to the store on every use, so a revoked key fails at once on
 * every replica: the local store is a file under the storage root (shared by the workers of one
 * machine), the Redis store is shared by replicas anywhere.
 */
import { createRequire } from 'node:module';
import type { Redis as RedisClient } from 'ioredis';
import { JsonFile } from '../stores/json-file.js';

export interface ApiKeyRecord {
  uuid: string;
  /** SHA-256 (hex) of the key without its `zak_` prefix. */
  hash: string;
  username: string;
  /** The owner's groups when the key was made (the key acts with them). */
  groups: string[];
  label: string;
  /** Repository globs the key is limited to; null: the owner's whole access. */
  scopes: string[] | null;
  createdAt: string;
  /** RFC 3339; null: never expires. */
  expirationDate: string | null;
  lastUsed: string | null;
  creatorUa: string;
  generatedBy: 'manual';
}

export interface ApiKeyStore {
  add(record: ApiKeyRecord): Promise<void>;
  byHash(hash: string): Promise<ApiKeyRecord | undefined>;
  byId(uuid: string): Promise<ApiKeyRecord | undefined>;
  list(username: string): Promise<ApiKeyRecord[]>;
  /** Removes the user's key; false when they have none with that id. */
  remove(username: string, uuid: string): Promise<boolean>;
  setLastUsed(uuid: string, at: string): Promise<void>;
  close(): Promise<void>;
}

interface Document {
  keys: ApiKeyRecord[];
}

/** One JSON file (mode 0600) holding every key's hash and details. */
export class LocalApiKeyStore implements ApiKeyStore {
  private readonly file: JsonFile<Document>;

  constructor(path: string) {
    this.file = new JsonFile<Document>(path, () => ({ keys: [] }));
  }

  async add(record: ApiKeyRecord): Promise<void> {
    await this.file.update((doc) => void doc.keys.push(record));
  }

  async byHash(hash: string): Promise<ApiKeyRecord | undefined> {
    return (await this.file.read()).keys.find((k) => k.hash === hash);
  }

  async byId(uuid: string): Promise<ApiKeyRecord | undefined> {
    return (await this.file.read()).keys.find((k) => k.uuid === uuid);
  }

  async list(username: string): Promise<ApiKeyRecord[]> {
    return (await this.file.read()).keys.filter((k) => k.username === username);
  }

  async remove(username: string, uuid: string): Promise<boolean> {
    return this.file.update((doc) => {
      const before = doc.keys.length;
      doc.keys = doc.keys.filter((k) => !(k.uuid === uuid && k.username === username));
      return doc.keys.length < before;
    });
  }

  async setLastUsed(uuid: string, at: string): Promise<void> {
    await this.file.update((doc) => {
      const key = doc.keys.find((k) => k.uuid === uuid);
      if (key) key.lastUsed = at;
    });
  }

  async close(): Promise<void> {}
}

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (zot's `url`). */
  url: string;
  /** Prefix of every key (zot's `keyprefix`; default `zot`). */
  keyPrefix?: string;
}

/** Keys in Redis: `<prefix>:apikey:hash:<sha256>` → record, `<prefix>:apikey:id:<uuid>` → hash, `<prefix>:apikey:user:<name>` → set of ids. */
export class RedisApiKeyStore implements ApiKeyStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;

  constructor(options: RedisStoreOptions) {
    this.redis = new (loadRedis())(options.url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
    // Errors surface on the commands that fail; an unhandled 'error' event would crash the process.
    this.redis.on('error', () => {});
    this.prefix = `${options.keyPrefix ?? 'zot'}:apikey`;
  }

  async add(record: ApiKeyRecord): Promise<void> {
    const ttl = record.expirationDate ? Math.ceil((Date.parse(record.expirationDate) - Date.now()) / 1000) + 86_400 : undefined;
    const multi = this.redis.multi();
    if (ttl) multi.set(this.hashKey(record.hash), JSON.stringify(record), 'EX', ttl);
    else multi.set(this.hashKey(record.hash), JSON.stringify(record));
    multi.set(this.idKey(record.uuid), record.hash);
    multi.sadd(this.userKey(record.username), record.uuid);
    await multi.exec();
  }

  async byHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const text = await this.redis.get(this.hashKey(hash));
    return text === null ? undefined : (JSON.parse(text) as ApiKeyRecord);
  }

  async byId(uuid: string): Promise<ApiKeyRecord | undefined> {
    const hash = await this.redis.get(this.idKey(uuid));
    return hash === null ? undefined : this.byHash(hash);
  }

  async list(username: string): Promise<ApiKeyRecord[]> {
    const ids = await this.redis.smembers(this.userKey(username));
    const records = await Promise.all(ids.map((id) => this.byId(id)));
    return records.filter((r): r is ApiKeyRecord => r !== undefined && r.username === username);
  }

  async remove(username: string, uuid: string): Promise<boolean> {
    const record = await this.byId(uuid);
    if (!record || record.username !== username) return false;
    await this.redis.multi().del(this.hashKey(record.hash)).del(this.idKey(uuid)).srem(this.userKey(username), uuid).exec();
    return true;
  }

  async setLastUsed(uuid: string, at: string): Promise<void> {
    const record = await this.byId(uuid);
    if (!record) return;
    record.lastUsed = at;
    // KEEPTTL: an expiring key keeps its expiry.
    await this.redis.set(this.hashKey(record.hash), JSON.stringify(record), 'KEEPTTL');
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private hashKey(hash: string): string {
    return `${this.prefix}:hash:${hash}`;
  }
  private idKey(uuid: string): string {
    return `${this.prefix}:id:${uuid}`;
  }
  private userKey(username: string): string {
    return `${this.prefix}:user:${username}`;
  }
}

/** ioredis, loaded when a Redis store is made (it is heavy, and most registries use none). */
function loadRedis(): typeof RedisClient {
  return (createRequire(import.meta.url)('ioredis') as { Redis: typeof RedisClient }).Redis;
}
