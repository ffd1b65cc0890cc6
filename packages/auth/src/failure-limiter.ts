/**
 * Slows password guessing without ever making a correct password fail because of somebody
 * else's mistakes. Two layers:
 * - `failDelay` (zot's key): every failed login waits that long before its 401.
 * - per user name and address: after `freeFailures` failures in `windowMs`, that user name from
 *   that address is locked for a delay that doubles with each further failure (up to
 *   `maxPenaltyMs`). An attempt during the lock is answered at once (429 with Retry-After) without
 *   checking the password, so a guesser gains nothing and queues nothing; other user names from
 *   the same address, and the same user from other addresses, are never affected. A successful
 *   login clears its pair.
 */

export interface FailureLimiterOptions {
  /** Seconds every failed attempt waits (zot's `http.auth.failDelay`). */
  failDelaySeconds?: number;
  /** Failures of one user name from one address before it is locked (default 5). */
  freeFailures?: number;
  basePenaltyMs?: number;
  maxPenaltyMs?: number;
  /** Failures older than this are forgotten. */
  windowMs?: number;
  /** Most (address, user name) pairs tracked; the oldest are dropped first. */
  maxRecords?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface PairRecord {
  failures: number;
  lastFailure: number;
  /** Until when attempts are refused unchecked. */
  lockedUntil: number;
}

export type AttemptPermit = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const ALLOWED: AttemptPermit = { allowed: true };

export class FailureLimiter {
  private readonly records = new Map<string, PairRecord>();
  private readonly failDelayMs: number;
  private readonly freeFailures: number;
  private readonly basePenaltyMs: number;
  private readonly maxPenaltyMs: number;
  private readonly windowMs: number;
  private readonly maxRecords: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: FailureLimiterOptions = {}) {
    this.failDelayMs = Math.round((options.failDelaySeconds ?? 0) * 1000);
    this.freeFailures = options.freeFailures ?? 5;
    this.basePenaltyMs = options.basePenaltyMs ?? 500;
    this.maxPenaltyMs = options.maxPenaltyMs ?? 15_000;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.maxRecords = options.maxRecords ?? 10_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Whether this user name may be checked from this address now. Never waits. */
  check(address: string | undefined, username: string): AttemptPermit {
    const record = this.current(address, username);
    if (!record) return ALLOWED;
    const wait = record.lockedUntil - this.now();
    return wait > 0 ? { allowed: false, retryAfterMs: wait } : ALLOWED;
  }

  /** Records a failure and waits `failDelay` (the caller answers 401 afterwards). */
  async onFailure(address: string | undefined, username: string): Promise<void> {
    if (address !== undefined) {
      const now = this.now();
      const key = pairKey(address, username);
      let record = this.current(address, username);
      if (!record) {
        record = { failures: 0, lastFailure: now, lockedUntil: 0 };
        this.records.set(key, record);
        this.trim();
      }
      record.failures += 1;
      record.lastFailure = now;
      if (record.failures >= this.freeFailures) record.lockedUntil = now + this.penalty(record.failures);
    }
    if (this.failDelayMs > 0) await this.sleep(this.failDelayMs);
  }

  onSuccess(address: string | undefined, username: string): void {
    if (address !== undefined) this.records.delete(pairKey(address, username));
  }

  /** Failures on record for a user name from an address (for tests and metrics). */
  failuresOf(address: string, username: string): number {
    return this.current(address, username)?.failures ?? 0;
  }

  private penalty(failures: number): number {
    const steps = Math.max(0, failures - this.freeFailures);
    return Math.min(this.maxPenaltyMs, this.basePenaltyMs * 2 ** Math.min(steps, 30));
  }

  private current(address: string | undefined, username: string): PairRecord | undefined {
    if (address === undefined) return undefined;
    const key = pairKey(address, username);
    const record = this.records.get(key);
    if (record && this.now() - record.lastFailure > this.windowMs) {
      this.records.delete(key);
      return undefined;
    }
    return record;
  }

  private trim(): void {
    while (this.records.size > this.maxRecords) {
      const oldest = this.records.keys().next().value;
      if (oldest === undefined) break;
      this.records.delete(oldest);
    }
  }
}

function pairKey(address: string, username: string): string {
  return `${address}\u0000${username}`;
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are the same client. */
export function normalizeAddress(address: string | undefined): string | undefined {
  if (address === undefined || address === '') return undefined;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
