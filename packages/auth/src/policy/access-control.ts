/**
 * zot's `http.accessControl` as an {@link Authorizer}. For a repository, the longest glob that
 * matches it chooses the policy group (as zot does); within it a user is allowed an action by a
 * policy naming them or one of their groups, else by `defaultPolicy` (any authenticated user),
 * and anonymous callers only by `anonymousPolicy`. `adminPolicy` adds its actions on every
 * repository for its users and groups.
 */
import { globToRegExp, type Action, type Authorizer, type Identity } from '@zotjs/core';
import type { AccessControlConfig, PolicyConfig, RepositoryPolicyConfig } from '../config.js';

interface CompiledGroup {
  pattern: string;
  regexp: RegExp;
  policy: RepositoryPolicyConfig;
}

export interface AccessControlOptions {
  /**
   * Let anonymous callers reach `GET /v2/` (and the catalog) when some repository has an
   * `anonymousPolicy`. Off by default: Docker-protocol clients send credentials only after the
   * `/v2/` ping answered 401, so an open ping would keep every client, even one with
   * credentials, anonymous (pushes fail, `podman login` accepts any password). With the ping
   * closed, clients without credentials still pull what `anonymousPolicy` allows.
   */
  anonymousBase?: boolean;
}

export class AccessControlAuthorizer implements Authorizer {
  private readonly groups: CompiledGroup[];
  private readonly admin: PolicyConfig;
  private readonly memberships = new Map<string, string[]>();
  private readonly anonymousBase: boolean;

  constructor(config: AccessControlConfig, options: AccessControlOptions = {}) {
    // zot's loader lowercases map keys, and repository names are lowercase: patterns are too.
    this.groups = Object.entries(config.repositories)
      .map(([pattern, policy]) => ({ pattern: pattern.toLowerCase(), regexp: globToRegExp(pattern.toLowerCase()), policy }))
      // Longest pattern first, so the first match is the most specific one.
      .sort((a, b) => b.pattern.length - a.pattern.length);
    this.admin = config.adminPolicy;
    for (const [group, { users }] of Object.entries(config.groups)) {
      for (const user of users) this.memberships.set(user, [...(this.memberships.get(user) ?? []), group]);
    }
    this.anonymousBase = (options.anonymousBase ?? false) && this.groups.some((g) => g.policy.anonymousPolicy.length > 0);
  }

  authorize(identity: Identity | undefined, repository: string, action: Action): boolean {
    return this.allowedActions(identity, repository).has(action);
  }

  allowsAnonymousBase(): boolean {
    return this.anonymousBase;
  }

  /** Every action `identity` may perform on `repository` (for logs, tests and UIs). */
  allowedActions(identity: Identity | undefined, repository: string): Set<Action> {
    const allowed = new Set<Action>();
    const policy = this.groups.find((g) => g.regexp.test(repository))?.policy;
    if (!identity) {
      for (const action of policy?.anonymousPolicy ?? []) allowed.add(action);
      return allowed;
    }
    const groups = this.groupsOf(identity);
    const applies = (p: PolicyConfig): boolean => p.users.includes(identity.username) || p.groups.some((g) => groups.has(g));
    if (policy) {
      for (const p of policy.policies) if (applies(p)) for (const action of p.actions) allowed.add(action);
      for (const action of policy.defaultPolicy) allowed.add(action);
    }
    if (applies(this.admin)) for (const action of this.admin.actions) allowed.add(action);
    return allowed;
  }

  private groupsOf(identity: Identity): Set<string> {
    return new Set([...identity.groups, ...(this.memberships.get(identity.username) ?? [])]);
  }
}

/** Without `accessControl`, as in zot: any authenticated caller may do anything, anonymous ones nothing. */
export class AuthenticatedOnlyAuthorizer implements Authorizer {
  authorize(identity: Identity | undefined): boolean {
    return identity !== undefined;
  }

  allowsAnonymousBase(): boolean {
    return false;
  }
}
