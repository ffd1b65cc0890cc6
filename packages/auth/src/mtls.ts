/**
 * Mutual TLS: a client certificate the TLS layer verified against `http.tls.cacert` names the
 * caller, as zot's `http.auth.mtls` says: `identityAttributes` are tried in order (CommonName,
 * Subject, Email, URI, DNSName; default CommonName) and the first one the certificate has is the
 * identity; a URI SAN may go through `uriSanPattern` (its first group, e.g. a SPIFFE workload
 * id). Adapters only pass `clientCertificate` for verified certificates.
 */
import {
  verifiedCertificateOf,
  type AuthRequest,
  type AuthResult,
  type Authenticator,
  type ClientCertificate,
  type Identity,
} from '@zotjs/core';
import { basicChallenge } from './password-authenticator.js';

export type IdentityAttribute = 'CommonName' | 'Subject' | 'Email' | 'URI' | 'DNSName';

export interface CertificateIdentityOptions {
  /** Tried in order (default `['CommonName']`). */
  identityAttributes?: readonly IdentityAttribute[];
  /** Applied to the URI SAN: the first capture group (or the whole match) is the identity; no match, no identity. */
  uriSanPattern?: string;
  uriSanIndex?: number;
  dnsSanIndex?: number;
  emailSanIndex?: number;
}

/** Picks the identity out of a verified certificate. */
export class CertificateIdentity {
  private readonly attributes: readonly IdentityAttribute[];
  private readonly uriPattern: RegExp | undefined;

  constructor(private readonly options: CertificateIdentityOptions = {}) {
    this.attributes = options.identityAttributes?.length ? options.identityAttributes : ['CommonName'];
    this.uriPattern = options.uriSanPattern ? new RegExp(options.uriSanPattern) : undefined;
  }

  /** The identity's name, or undefined when none of the attributes is present. */
  nameOf(certificate: ClientCertificate): string | undefined {
    for (const attribute of this.attributes) {
      const value = this.attribute(certificate, attribute);
      if (value) return value;
    }
    return undefined;
  }

  /** The result for a request: its certificate's identity, a refusal when it has none, undefined without a certificate. */
  authenticate(request: AuthRequest): AuthResult | undefined {
    const certificate = request.clientCertificate;
    if (!certificate) return undefined;
    const username = this.nameOf(certificate);
    if (!username) return { kind: 'rejected', reason: `client certificate has none of ${this.attributes.join(', ')}` };
    const identity: Identity = { username, groups: [], method: 'mtls' };
    return { kind: 'authenticated', identity };
  }

  private attribute(certificate: ClientCertificate, attribute: IdentityAttribute): string | undefined {
    switch (attribute) {
      case 'CommonName':
        return certificate.subjectCommonName;
      case 'Subject':
        return certificate.subject;
      case 'Email':
        return certificate.emails?.[this.options.emailSanIndex ?? 0];
      case 'DNSName':
        return certificate.dnsNames?.[this.options.dnsSanIndex ?? 0];
      case 'URI': {
        const uri = certificate.uris?.[this.options.uriSanIndex ?? 0];
        if (uri === undefined || !this.uriPattern) return uri;
        const match = this.uriPattern.exec(uri);
        return match ? (match[1] ?? match[0]) : undefined;
      }
    }
  }
}

const COMMON_NAME = new CertificateIdentity();

export class MtlsAuthenticator implements Authenticator {
  private readonly challengeValue: string;
  private readonly identities: CertificateIdentity;

  constructor(options: { realm: string; identity?: CertificateIdentity }) {
    this.challengeValue = basicChallenge(options.realm);
    this.identities = options.identity ?? COMMON_NAME;
  }

  challenge(): string {
    return this.challengeValue;
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    return this.identities.authenticate(request) ?? { kind: 'anonymous' };
  }
}

/** The identity in a verified client certificate by its subject CN (zot's default); a certificate without one is refused. */
export function identityFromCertificate(request: AuthRequest, identities: CertificateIdentity = COMMON_NAME): AuthResult | undefined {
  return identities.authenticate(request);
}

/**
 * What an adapter passes as `RegistryRequest.clientCertificate`: only for a TLS socket whose peer
 * certificate the server verified (`socket.authorized`), never for one merely presented.
 */
export function verifiedClientCertificate(socket: unknown): ClientCertificate | undefined {
  return typeof socket === 'object' && socket !== null ? verifiedCertificateOf(socket) : undefined;
}
