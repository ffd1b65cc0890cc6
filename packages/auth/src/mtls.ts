/**
 * Mutual TLS: the subject CN of a client certificate the TLS layer verified against
 * `http.tls.cacert` is the caller's identity. The adapter only passes `clientCertificate` for
 * verified certificates (see {@link verifiedClientCertificate}).
 */
import type { TLSSocket } from 'node:tls';
import type { AuthRequest, AuthResult, Authenticator, Identity } from '@zotjs/core';
import { basicChallenge } from './password-authenticator.js';

export class MtlsAuthenticator implements Authenticator {
  private readonly challengeValue: string;

  constructor(options: { realm: string }) {
    this.challengeValue = basicChallenge(options.realm);
  }

  challenge(): string {
    return this.challengeValue;
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    return identityFromCertificate(request) ?? { kind: 'anonymous' };
  }
}

/** The identity in a verified client certificate; a certificate without a CN is refused. */
export function identityFromCertificate(request: AuthRequest): AuthResult | undefined {
  const certificate = request.clientCertificate;
  if (!certificate) return undefined;
  const cn = certificate.subjectCommonName;
  if (!cn) return { kind: 'rejected', reason: 'client certificate has no subject CN' };
  const identity: Identity = { username: cn, groups: [], method: 'mtls' };
  return { kind: 'authenticated', identity };
}

/**
 * What an adapter passes as `RegistryRequest.clientCertificate`: only for a TLS socket whose peer
 * certificate the server verified (`socket.authorized`), never for one merely presented.
 */
export function verifiedClientCertificate(socket: unknown): { subjectCommonName?: string } | undefined {
  const tlsSocket = socket as Partial<TLSSocket> | undefined;
  if (tlsSocket?.encrypted !== true || tlsSocket.authorized !== true || typeof tlsSocket.getPeerCertificate !== 'function') {
    return undefined;
  }
  const peer = tlsSocket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return undefined;
  const cn = peer.subject?.CN;
  // A subject with several CNs is ambiguous: no identity rather than a guess.
  return typeof cn === 'string' && cn !== '' ? { subjectCommonName: cn } : {};
}
