/**
 * Mixed mode, as zot has it with both a client CA and htpasswd/LDAP configured: a valid client
 * certificate or valid Basic credentials authenticate. Credentials, when sent, decide (wrong ones
 * are refused even with a certificate); without them the certificate's identity is the caller.
 */
import type { AuthRequest, AuthResult, Authenticator, ChallengeContext } from '@zotjs/core';
import { CertificateIdentity, identityFromCertificate } from './mtls.js';

export class CertificateOrPasswordAuthenticator implements Authenticator {
  readonly challengesInsufficientScope: boolean;

  constructor(
    private readonly password: Authenticator,
    private readonly identities: CertificateIdentity = new CertificateIdentity(),
  ) {
    this.challengesInsufficientScope = password.challengesInsufficientScope ?? false;
  }

  challenge(context?: ChallengeContext): string {
    return this.password.challenge(context);
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const byPassword = await this.password.authenticate(request);
    if (byPassword.kind !== 'anonymous' || byPassword.access) return byPassword;
    return identityFromCertificate(request, this.identities) ?? byPassword;
  }
}
