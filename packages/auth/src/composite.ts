/**
 * Mixed mode, as zot has it with both a client CA and htpasswd/LDAP configured: a valid client
 * certificate or valid Basic credentials authenticate. Credentials, when sent, decide (wrong ones
 * are refused even with a certificate); without them the certificate's CN is the identity.
 */
import type { AuthRequest, AuthResult, Authenticator } from '@zotjs/core';
import { identityFromCertificate } from './mtls.js';

export class CertificateOrPasswordAuthenticator implements Authenticator {
  constructor(private readonly password: Authenticator) {}

  challenge(): string {
    return this.password.challenge();
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const byPassword = await this.password.authenticate(request);
    if (byPassword.kind !== 'anonymous') return byPassword;
    return identityFromCertificate(request) ?? byPassword;
  }
}
