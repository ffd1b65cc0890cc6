/**
 * Several authenticators in order: the first that finds credentials decides (authenticated or
 * rejected); a request none of them recognises is anonymous. The challenge is the first one's.
 * E.g. bearer tokens (with Basic API keys behind them), then session cookies.
 */
import type { AuthRequest, AuthResult, Authenticator, ChallengeContext, CredentialAccess } from '@zotjs/core';

export class AuthenticatorChain implements Authenticator {
  readonly challengesInsufficientScope: boolean;

  constructor(private readonly chain: readonly Authenticator[]) {
    if (chain.length === 0) throw new Error('AuthenticatorChain needs at least one authenticator');
    this.challengesInsufficientScope = chain[0]!.challengesInsufficientScope ?? false;
  }

  challenge(context?: ChallengeContext): string {
    return this.chain[0]!.challenge(context);
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    let anonymousAccess: CredentialAccess | undefined;
    for (const authenticator of this.chain) {
      const result = await authenticator.authenticate(request);
      if (result.kind !== 'anonymous') return result;
      anonymousAccess ??= result.access;
    }
    return anonymousAccess ? { kind: 'anonymous', access: anonymousAccess } : { kind: 'anonymous' };
  }
}
