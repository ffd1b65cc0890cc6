/**
 * The server's TLS material (`http.tls`): read at startup, re-read on demand (SIGHUP) and swapped
 * into the running server with `setSecureContext`, so certificates rotate without a restart.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { Logger } from '@zotjs/core';
import type { TlsConfig } from './config.js';

/**
 * The default cipher suites: TLS 1.3's three AEAD suites, then TLS 1.2 with ECDHE key exchange
 * and AEAD ciphers only (AES-GCM, ChaCha20-Poly1305). No static-RSA key exchange (no forward
 * secrecy), no CBC, no SHA-1 MACs. Clients from the last decade (docker, podman, containerd,
 * skopeo, curl) all speak at least one of them.
 */
export const DEFAULT_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

/** Protocol settings shared by the server options and every reloaded context: TLS 1.2 and 1.3 only. */
function protocolOptions(ciphers: string): SecureContextOptions {
  return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers, honorCipherOrder: true };
}

export interface TlsMaterialOptions {
  /** OpenSSL cipher list (TLS 1.2 and 1.3 names, colon separated); default {@link DEFAULT_CIPHERS}. */
  ciphers?: string;
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
  private readonly protocol: SecureContextOptions;

  constructor(
    readonly config: TlsConfig,
    private readonly options: TlsMaterialOptions,
  ) {
    this.protocol = protocolOptions(options.ciphers ?? DEFAULT_CIPHERS);
    // Synchronous at startup: a missing or mismatched key (or a cipher list OpenSSL rejects) must stop the server before it listens.
    this.current = this.validate({
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
      ...this.protocol,
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
      const next = this.validate({ cert, key, ...(ca ? { ca } : {}) });
      target?.setSecureContext({ ...next, ...this.protocol });
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

  /** Throws when the key does not match the certificate, a PEM is unreadable or the cipher list is invalid. */
  private validate(options: SecureContextOptions): SecureContextOptions {
    createSecureContext({ ...options, ...this.protocol });
    return options;
  }
}
