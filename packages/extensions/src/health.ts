import { RegistryError, type Logger, type RegistryResponse, type RegistryStorage, type RouteDefinition } from '@zotjs/core';
import type { StorageSource } from './storage-source.js';

/**
 * Storage health, checked in the background so that probes answer from memory (no I/O per
 * probe): every `intervalMs` the storage is asked whether it is reachable and writable. A backend
 * with the `health` capability answers for itself (the OCI layout writes and removes a small file
 * in its root, S3 asks for its bucket); without it, reading a repository's index stands in (a
 * cheap call every backend has, which proves the storage answers, if not that it takes writes).
 */

export interface StorageHealthOptions {
  /** The storage to check, or the promise of one still being opened. */
  storage: StorageSource;
  /** How often the storage is checked (default 2 s). */
  intervalMs?: number;
  /** A check still running after this long counts as a failure (hung disk or NFS; default 5 s). */
  timeoutMs?: number;
  logger?: Logger;
}

export interface HealthState {
  ok: boolean;
  /** Why not, as an error code (EACCES, ENOSPC, NoSuchBucket, timeout): never a path. */
  reason?: string;
  checkedAt?: Date;
}

/** Read by the fallback check: a valid name nobody needs to have pushed (a missing repository is a fine answer). */
const FALLBACK_REPOSITORY = 'zot-health-check';

export class StorageHealth {
  private readonly storage: StorageSource;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly logger: Logger | undefined;
  private current: HealthState = { ok: false, reason: 'not checked yet' };
  private everReady = false;
  private running: { since: number; promise: Promise<void> } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: StorageHealthOptions) {
    this.storage = options.storage;
    this.intervalMs = options.intervalMs ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.logger = options.logger;
  }

  /** Checks once (resolves when that check is done), then keeps checking in the background. */
  async start(): Promise<void> {
    await this.check();
    this.timer ??= setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Storage reachable and writable, as of the last check. */
  get state(): HealthState {
    return this.current;
  }

  /** True once a check has ever passed (the registry finished starting). */
  get started(): boolean {
    return this.everReady;
  }

  check(): Promise<void> {
    if (this.running) {
      // Still waiting on the previous probe: a hung storage is not ready.
      if (Date.now() - this.running.since > this.timeoutMs) this.set({ ok: false, reason: 'timeout' });
      return this.running.promise;
    }
    const promise = this.probe().finally(() => (this.running = undefined));
    this.running = { since: Date.now(), promise };
    return promise;
  }

  private async probe(): Promise<void> {
    try {
      await probeStorage(await this.storage);
      this.set({ ok: true });
    } catch (err) {
      this.set({ ok: false, reason: reasonOf(err) });
    }
  }

  private set(state: Omit<HealthState, 'checkedAt'>): void {
    if (state.ok !== this.current.ok || state.reason !== this.current.reason) {
      if (state.ok) this.logger?.info({ storage: 'ok' }, 'storage is ready');
      else this.logger?.warn({ storage: state.reason }, 'storage is not ready');
    }
    this.current = { ...state, checkedAt: new Date() };
    if (state.ok) this.everReady = true;
  }
}

async function probeStorage(storage: RegistryStorage): Promise<void> {
  const health = storage.capabilities?.health;
  if (health) await health.probe();
  else await storage.readIndex(FALLBACK_REPOSITORY);
}

/**
 * What a failed check reports: the error's code (`EACCES`, `NoSuchBucket`), else its name, when
 * it is a short identifier; never its message, which may hold a path or an address.
 */
function reasonOf(err: unknown): string {
  const { code, name } = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; name?: unknown };
  for (const candidate of [code, name]) {
    if (typeof candidate === 'string' && candidate !== 'Error' && IDENTIFIER.test(candidate)) return candidate;
  }
  return 'error';
}

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

const STATUS_SCHEMA = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] }, checks: { type: 'object', additionalProperties: { type: 'string' } } },
};

function ok(checks?: Record<string, string>): RegistryResponse {
  const body = Buffer.from(JSON.stringify(checks ? { status: 'ok', checks } : { status: 'ok' }));
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length), 'Cache-Control': 'no-store' },
    body,
  };
}

function unavailable(message: string, checks: Record<string, string>): RegistryError {
  return new RegistryError('UNAVAILABLE', message, { detail: { checks }, headers: { 'Cache-Control': 'no-store' } });
}

/** `/livez`, `/readyz`, `/startupz` as zot has them: public, answered from memory. */
export function healthRoutes(health: StorageHealth): RouteDefinition[] {
  const common = { method: 'GET', action: 'none', tag: 'health', public: true } as const;
  const responseBody = { mediaTypes: ['application/json'], schema: STATUS_SCHEMA };
  return [
    {
      ...common,
      template: '/livez',
      operationId: 'livez',
      summary: 'Liveness: the process is serving requests',
      responses: { 200: 'alive' },
      responseBody,
      async handle() {
        return ok();
      },
    },
    {
      ...common,
      template: '/readyz',
      operationId: 'readyz',
      summary: 'Readiness: the storage is reachable and writable (checked in the background)',
      responses: { 200: 'ready', 503: 'storage not reachable or not writable' },
      responseBody,
      async handle() {
        const { ok: ready, reason } = health.state;
        if (!ready) throw unavailable('storage is not writable', { storage: reason ?? 'error' });
        return ok({ storage: 'ok' });
      },
    },
    {
      ...common,
      template: '/startupz',
      operationId: 'startupz',
      summary: 'Startup: the registry has finished starting (its storage passed a check once)',
      responses: { 200: 'started', 503: 'still starting' },
      responseBody,
      async handle() {
        if (!health.started) throw unavailable('starting', { storage: health.state.reason ?? 'not checked yet' });
        return ok();
      },
    },
  ];
}
