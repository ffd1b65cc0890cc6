/**
 * The server's TLS material (`http.tls`): read at startup, re-read on demand (SIGHUP) and swapped
 * into the running server with `setSecureContext`, so certificates rotate without a restart.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { Logger } from '@zotjs/core';
import type { TlsConfig } from './config.js';

export interface TlsMaterialOptions {
  /**
   * Whether clients must present a certificate signed by `cacert` (refused at the handshake
   * otherwise). False in mixed mode, where Basic credentials are an alternative.
   */
  requireClientCertificate: boolean;
  logger?: Logger;
}

/** Something that can take a new secure context: `https.Server`, `tls.Server`, `http2` servers. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export class TlsMaterial {
  private current: SecureContextOptions;

  constructor(
    readonly config: TlsConfig,
    private readonly options: TlsMaterialOptions,
  ) {
    // Synchronous at startup: a missing or mismatched key must stop the server before it listens.
    this.current = TlsMaterial.validate({
      cert: readFileSync(config.cert),
      key: readFileSync(config.key),
      ...(config.cacert ? { ca: readFileSync(config.cacert) } : {}),
    });
  }

  /** Whether client certificates are asked for (any `cacert`). */
  get requestCert(): boolean {
    return this.config.cacert !== undefined;
  }

  /** Whether a client without a valid certificate is refused at the handshake. */
  get rejectUnauthorized(): boolean {
    return this.requestCert && this.options.requireClientCertificate;
  }

  /** Options for `https.createServer` / `tls.createServer`. */
  serverOptions(): TlsOptions {
    return {
      ...this.current,
      minVersion: 'TLSv1.2',
      requestCert: this.requestCert,
      rejectUnauthorized: this.rejectUnauthorized,
    };
  }

  /**
   * Re-reads the files and installs them into `target` (new connections use them). On any error
   * (missing file, key not matching the certificate) the running material is kept and the error
   * logged and returned: a botched rotation must not take the registry down.
   */
  async reload(target?: SecureContextTarget): Promise<{ ok: true } | { ok: false; error: Error }> {
    try {
      const [cert, key, ca] = await Promise.all([
        readFile(this.config.cert),
        readFile(this.config.key),
        this.config.cacert ? readFile(this.config.cacert) : Promise.resolve(undefined),
      ]);
      const next = TlsMaterial.validate({ cert, key, ...(ca ? { ca } : {}) });
      target?.setSecureContext({ ...next, minVersion: 'TLSv1.2' });
      this.current = next;
      this.options.logger?.info({ cert: this.config.cert }, 'TLS certificates reloaded');
      return { ok: true };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.options.logger?.error(
        { cert: this.config.cert, err: { message: error.message } },
        'TLS certificate reload failed; keeping the current ones',
      );
      return { ok: false, error };
    }
  }

  /** Throws when the key does not match the certificate or a PEM is unreadable. */
  private static validate(options: SecureContextOptions): SecureContextOptions {
    createSecureContext({ ...options, minVersion: 'TLSv1.2' });
    return options;
  }
}
