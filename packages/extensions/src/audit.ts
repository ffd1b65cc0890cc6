import { templatePattern, tryParseDigest } from '@zotjs/core';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { MUTATING_METHODS, type RequestRecord } from './record.js';

/**
 * The audit trail (`log.audit`, as zot has it): one JSON line per mutating request (POST, PUT,
 * PATCH, DELETE) in a file of its own: who, what, which repository and digest, and the result.
 * Never headers or query strings (they may carry secrets).
 */

export interface AuditLogOptions {
  /** The audit file (appended to, created 0600). */
  file: string;
}

export interface AuditEntry {
  user: string;
  /** How the user was authenticated (basic, mtls), absent for anonymous callers. */
  authMethod?: string;
  remoteAddress?: string;
  method: string;
  operation?: string;
  route?: string;
  repository?: string;
  /** The tag or digest in the path of manifest operations. */
  reference?: string;
  digest?: string;
  status: number;
  result: 'success' | 'failure';
}

export class AuditLog {
  private readonly destination: DestinationStream & { flushSync?: () => void; end?: () => void };
  private readonly logger: PinoLogger;
  private readonly patterns = new Map<string, RegExp>();
  private closed = false;

  constructor(options: AuditLogOptions) {
    this.destination = pino.destination({ dest: options.file, append: true, sync: false, mkdir: true, mode: 0o600 });
    this.logger = pino(
      {
        base: null,
        timestamp: pino.stdTimeFunctions.isoTime,
        messageKey: 'msg',
        formatters: { level: (label) => ({ level: label }) },
      },
      this.destination,
    );
  }

  observe(record: RequestRecord): void {
    if (this.closed || !MUTATING_METHODS.has(record.method)) return;
    this.logger.info(this.entry(record), 'audit');
  }

  entry(record: RequestRecord): AuditEntry {
    const { outcome } = record;
    const entry: AuditEntry = {
      user: outcome.identity?.username ?? 'anonymous',
      method: record.method,
      status: record.status,
      result: record.status < 400 && !record.aborted ? 'success' : 'failure',
    };
    if (outcome.identity) entry.authMethod = outcome.identity.method;
    if (record.remoteAddress) entry.remoteAddress = record.remoteAddress;
    if (outcome.operationId) entry.operation = outcome.operationId;
    if (outcome.route) entry.route = outcome.route;
    if (outcome.repository) entry.repository = outcome.repository;
    const reference = outcome.route?.includes('{reference}') ? this.param(outcome.route, record.path, 'reference') : undefined;
    if (reference) entry.reference = reference;
    const digest = outcome.digest ?? (reference && tryParseDigest(reference) ? reference : undefined) ?? this.blobDigest(record);
    if (digest) entry.digest = digest;
    return entry;
  }

  /** Writes out what is buffered (at shutdown). */
  flush(): void {
    try {
      this.destination.flushSync?.();
    } catch {
      // not open yet or already closed: nothing buffered
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    this.destination.end?.();
  }

  private blobDigest(record: RequestRecord): string | undefined {
    const route = record.outcome.route;
    return route?.includes('{digest}') ? this.param(route, record.path, 'digest') : undefined;
  }

  private param(route: string, path: string, name: string): string | undefined {
    let pattern = this.patterns.get(route);
    if (!pattern) {
      pattern = templatePattern(route);
      this.patterns.set(route, pattern);
    }
    const raw = pattern.exec(path)?.groups?.[name];
    if (raw === undefined) return undefined;
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
}
