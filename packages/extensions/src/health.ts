import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryError, type Logger, type RegistryResponse, type RouteDefinition } from '@zotjs/core';

/**
 * Storage health, checked in the background so that probes answer from memory (no I/O per
 * probe): every `intervalMs` a small file is written to the storage root and removed again.
 */

export interface StorageHealthOptions {
  rootDirectory: string;
  /** How often the storage is checked (default 2 s). */
  intervalMs?: number;
  /** A check still running after this long counts as a failure (hung disk or NFS; default 5 s). */
  timeoutMs?: number;
  logger?: Logger;
}

export interface HealthState {
  ok: boolean;
  /** Why not, as an error code (EACCES, ENOSPC, timeout): never a path. */
  reason?: string;
  checkedAt?: Date;
}

export class StorageHealth {
  private readonly root: string;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly logger: Logger | undefined;
  private readonly probeFile: string;
  private current: HealthState = { ok: false, reason: 'not checked yet' };
  private everReady = false;
  private running: { since: number; promise: Promise<void> } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: StorageHealthOptions) {
    this.root = options.rootDirectory;
    this.intervalMs = options.intervalMs ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.logger = options.logger;
    // Dot-named: never taken for a repository.
    this.probeFile = join(this.root, `.zot-health-${process.pid}-${randomBytes(4).toString('hex')}`);
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
      // Still waiting on the previous probe: a hung filesystem is not ready.
      if (Date.now() - this.running.since > this.timeoutMs) this.set({ ok: false, reason: 'timeout' });
      return this.running.promise;
    }
    const promise = this.probe().finally(() => (this.running = undefined));
    this.running = { since: Date.now(), promise };
    return promise;
  }

  private async probe(): Promise<void> {
    try {
      await writeFile(this.probeFile, 'ok', { mode: 0o600 });
      await rm(this.probeFile, { force: true });
      this.set({ ok: true });
    } catch (err) {
      this.set({ ok: false, reason: (err as NodeJS.ErrnoException).code ?? 'error' });
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
