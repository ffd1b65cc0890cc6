/**
 * Slows password guessing. Two layers:
 * - `failDelay` (zot's key): every failed login waits that long before its 401.
 * - per address: after `freeFailures` failures in `windowMs`, each further attempt from that
 *   address waits for its turn, spaced by a delay that doubles with each failure (up to
 *   `maxPenaltyMs`). Attempts are spaced even when sent in parallel, and when the queue is longer
 *   than `maxWaitMs` the attempt is refused without checking the password. Other addresses are
 *   never affected; a successful login clears the address.
 */

export interface FailureLimiterOptions {
  /** Seconds every failed attempt waits (zot's `http.auth.failDelay`). */
  failDelaySeconds?: number;
  freeFailures?: number;
  basePenaltyMs?: number;
  maxPenaltyMs?: number;
  /** Longest an attempt may be queued before it is refused outright. */
  maxWaitMs?: number;
  /** Failures older than this are forgotten. */
  windowMs?: number;
  /** Most addresses tracked; the oldest are dropped first. */
  maxAddresses?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface AddressRecord {
  failures: number;
  lastFailure: number;
  /** Earliest time the next attempt may be checked. */
  nextSlot: number;
}

export type AttemptPermit = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class FailureLimiter {
  private readonly records = new Map<string, AddressRecord>();
  private readonly failDelayMs: number;
  private readonly freeFailures: number;
  private readonly basePenaltyMs: number;
  private readonly maxPenaltyMs: number;
  private readonly maxWaitMs: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: FailureLimiterOptions = {}) {
    this.failDelayMs = Math.round((options.failDelaySeconds ?? 0) * 1000);
    this.freeFailures = options.freeFailures ?? 5;
    this.basePenaltyMs = options.basePenaltyMs ?? 500;
    this.maxPenaltyMs = options.maxPenaltyMs ?? 15_000;
    this.maxWaitMs = options.maxWaitMs ?? 30_000;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Waits for the address's turn; refuses when it would wait too long. */
  async beforeAttempt(address: string | undefined): Promise<AttemptPermit> {
    const record = this.current(address);
    if (!record || record.failures < this.freeFailures) return { allowed: true };
    const now = this.now();
    const slot = Math.max(now, record.nextSlot);
    const wait = slot - now;
    if (wait > this.maxWaitMs) return { allowed: false, retryAfterMs: wait };
    record.nextSlot = slot + this.penalty(record.failures);
    if (wait > 0) await this.sleep(wait);
    return { allowed: true };
  }

  /** Records a failure and waits `failDelay` (the caller answers 401 afterwards). */
  async onFailure(address: string | undefined): Promise<void> {
    if (address !== undefined) {
      const now = this.now();
      let record = this.current(address);
      if (!record) {
        record = { failures: 0, lastFailure: now, nextSlot: now };
        this.records.set(address, record);
        this.trim();
      }
      record.failures += 1;
      record.lastFailure = now;
      if (record.failures >= this.freeFailures) record.nextSlot = Math.max(record.nextSlot, now + this.penalty(record.failures));
    }
    if (this.failDelayMs > 0) await this.sleep(this.failDelayMs);
  }

  onSuccess(address: string | undefined): void {
    if (address !== undefined) this.records.delete(address);
  }

  /** Failures on record for an address (for tests and metrics). */
  failuresOf(address: string): number {
    return this.current(address)?.failures ?? 0;
  }

  private penalty(failures: number): number {
    const steps = Math.max(0, failures - this.freeFailures);
    return Math.min(this.maxPenaltyMs, this.basePenaltyMs * 2 ** Math.min(steps, 30));
  }

  private current(address: string | undefined): AddressRecord | undefined {
    if (address === undefined) return undefined;
    const record = this.records.get(address);
    if (record && this.now() - record.lastFailure > this.windowMs) {
      this.records.delete(address);
      return undefined;
    }
    return record;
  }

  private trim(): void {
    while (this.records.size > this.maxAddresses) {
      const oldest = this.records.keys().next().value;
      if (oldest === undefined) break;
      this.records.delete(oldest);
    }
  }
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are the same client. */
export function normalizeAddress(address: string | undefined): string | undefined {
  if (address === undefined || address === '') return undefined;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
