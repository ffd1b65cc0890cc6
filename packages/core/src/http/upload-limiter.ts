import { RegistryError } from '../errors.js';

/** One change to the open upload sessions, as one process tells the others that serve the same registry. */
export type UploadSessionEvent =
  | { kind: 'opened'; client: string; uploadId: string; at: number }
  | { kind: 'touched'; uploadId: string; at: number }
  | { kind: 'closed'; uploadId: string };

/**
 * Lets several processes serving one storage (a multi-process server) count each client's upload
 * sessions together, since a client's requests may reach any of them. Changes arrive within
 * moments, not atomically: two processes may each admit a client's last allowed session at once.
 */
export interface UploadSessionSharing {
  /** Tells the other processes about a change made here. */
  publish(event: UploadSessionEvent): void;
  /**
   * Called once. `receive` takes the other processes' changes; `current` lists the sessions this
   * process knows, for a process that joins later (a replaced worker) to start from.
   */
  connect(receive: (event: UploadSessionEvent) => void, current: () => UploadSessionEvent[]): void;
}

/**
 * Caps how many upload sessions one client (user, else address) keeps open, so a client cannot
 * exhaust the storage with sessions it never finishes. A session stops counting when it is
 * completed, cancelled, found unknown, or idle for longer than `expiryMs` (then it is abandoned
 * and garbage collection removes it). With `sharing`, sessions opened through other processes count too.
 */
export class UploadSessionLimiter {
  private readonly byClient = new Map<string, Map<string, number>>();
  private readonly owners = new Map<string, string>();

  constructor(
    readonly maxPerClient: number,
    private readonly expiryMs: number,
    private readonly now: () => number = Date.now,
    private readonly sharing?: UploadSessionSharing,
  ) {
    sharing?.connect(
      (event) => this.apply(event),
      () => this.sessions(),
    );
  }

  /** Throws TOOMANYREQUESTS when `client` may not open another session. */
  check(client: string): void {
    const open = this.prune(client);
    if (open >= this.maxPerClient) {
      throw new RegistryError(
        'TOOMANYREQUESTS',
        `too many open upload sessions (limit ${this.maxPerClient}): finish or cancel some first`,
        {
          headers: { 'Retry-After': '60' },
        },
      );
    }
  }

  opened(client: string, uploadId: string): void {
    this.change({ kind: 'opened', client, uploadId, at: this.now() });
  }

  /** The session was used (a chunk, a status check): it is not abandoned. */
  touched(uploadId: string): void {
    if (this.owners.has(uploadId)) this.change({ kind: 'touched', uploadId, at: this.now() });
  }

  closed(uploadId: string): void {
    if (this.owners.has(uploadId)) this.change({ kind: 'closed', uploadId });
  }

  private change(event: UploadSessionEvent): void {
    this.apply(event);
    this.sharing?.publish(event);
  }

  /** Applies a change made here or elsewhere. Idempotent, so a session heard of twice counts once. */
  private apply(event: UploadSessionEvent): void {
    if (event.kind === 'opened') {
      let sessions = this.byClient.get(event.client);
      if (!sessions) this.byClient.set(event.client, (sessions = new Map()));
      sessions.set(event.uploadId, Math.max(event.at, sessions.get(event.uploadId) ?? 0));
      this.owners.set(event.uploadId, event.client);
      return;
    }
    const client = this.owners.get(event.uploadId);
    if (client === undefined) return;
    const sessions = this.byClient.get(client);
    if (event.kind === 'touched') {
      sessions?.set(event.uploadId, Math.max(event.at, sessions.get(event.uploadId) ?? 0));
      return;
    }
    this.owners.delete(event.uploadId);
    sessions?.delete(event.uploadId);
    if (sessions?.size === 0) this.byClient.delete(client);
  }

  /** Every session known here, as the events that would recreate them elsewhere. */
  private sessions(): UploadSessionEvent[] {
    const events: UploadSessionEvent[] = [];
    for (const [client, sessions] of this.byClient) {
      for (const [uploadId, at] of sessions) events.push({ kind: 'opened', client, uploadId, at });
    }
    return events;
  }

  /** Drops the client's abandoned sessions; resolves to how many are still open. */
  private prune(client: string): number {
    const sessions = this.byClient.get(client);
    if (!sessions) return 0;
    // Each process prunes by itself (same clock, same expiry), so this is not shared.
    const cutoff = this.now() - this.expiryMs;
    for (const [id, lastUsed] of sessions) if (lastUsed < cutoff) this.apply({ kind: 'closed', uploadId: id });
    return this.byClient.get(client)?.size ?? 0;
  }
}
