import { RegistryError } from '../errors.js';

/**
 * Caps how many upload sessions one client (user, else address) keeps open in this process, so
 * a client cannot exhaust the storage with sessions it never finishes. A session stops counting
 * when it is completed, cancelled, found unknown, or idle for longer than `expiryMs` (then it is
 * abandoned and garbage collection removes it).
 */
export class UploadSessionLimiter {
  private readonly byClient = new Map<string, Map<string, number>>();
  private readonly owners = new Map<string, string>();

  constructor(
    readonly maxPerClient: number,
    private readonly expiryMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws TOOMANYREQUESTS when `client` may not open another session. */
  check(client: string): void {
    const open = this.prune(client);
    if (open >= this.maxPerClient) {
      throw new RegistryError('TOOMANYREQUESTS', `too many open upload sessions (limit ${this.maxPerClient}): finish or cancel some first`, {
        headers: { 'Retry-After': '60' },
      });
    }
  }

  opened(client: string, uploadId: string): void {
    let sessions = this.byClient.get(client);
    if (!sessions) this.byClient.set(client, (sessions = new Map()));
    sessions.set(uploadId, this.now());
    this.owners.set(uploadId, client);
  }

  /** The session was used (a chunk, a status check): it is not abandoned. */
  touched(uploadId: string): void {
    const client = this.owners.get(uploadId);
    if (client !== undefined) this.byClient.get(client)?.set(uploadId, this.now());
  }

  closed(uploadId: string): void {
    const client = this.owners.get(uploadId);
    if (client === undefined) return;
    this.owners.delete(uploadId);
    const sessions = this.byClient.get(client);
    sessions?.delete(uploadId);
    if (sessions?.size === 0) this.byClient.delete(client);
  }

  /** Drops the client's abandoned sessions; resolves to how many are still open. */
  private prune(client: string): number {
    const sessions = this.byClient.get(client);
    if (!sessions) return 0;
    const cutoff = this.now() - this.expiryMs;
    for (const [id, lastUsed] of sessions) if (lastUsed < cutoff) this.closed(id);
    return this.byClient.get(client)?.size ?? 0;
  }
}
