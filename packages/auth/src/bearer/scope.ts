/**
 * The token scope grammar (distribution's scope.md) and how its actions map to zot's
 * access-control actions: `pull` is read, `push` is create and update, `delete` is delete, `*`
 * is all of them. `registry:catalog:*` (and zot's older `repository::pull`) allow the catalog.
 */
import type { Action, CredentialAccess } from '@zotjs/core';

/** One resource scope, e.g. `repository:library/alpine:pull,push`. */
export interface ResourceScope {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** An entry of a token's `access` claim (jwt.md). */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

const RESOURCE_TYPE = /^[a-z0-9]+(?:\([a-z0-9]+\))?$/;
const ACTION = /^[a-z*]*$/;

/**
 * Parses a space-separated scope list. The name may contain one `:` (a registry host with a
 * port), so the type is split at the first colon and the actions at the last one.
 * Malformed entries are skipped: a token server must not fail a request for them.
 */
export function parseScopes(text: string | null | undefined): ResourceScope[] {
  const scopes: ResourceScope[] = [];
  for (const item of (text ?? '').split(' ')) {
    const first = item.indexOf(':');
    const last = item.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    const type = item.slice(0, first);
    const name = item.slice(first + 1, last);
    const actions = item
      .slice(last + 1)
      .split(',')
      .filter((a) => a !== '');
    if (!RESOURCE_TYPE.test(type) || !actions.every((a) => ACTION.test(a))) continue;
    // A resource class (`repository(plugin)`) is deprecated and ignored (scope.md).
    scopes.push({ type: type.replace(/\(.*\)$/, ''), name, actions });
  }
  return scopes;
}

export function formatScope(scope: ResourceScope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}

/** The token action that covers an access-control action. */
export function tokenActionFor(action: Action): 'pull' | 'push' | 'delete' {
  switch (action) {
    case 'read':
      return 'pull';
    case 'create':
    case 'update':
      return 'push';
    case 'delete':
      return 'delete';
  }
}

/** The access-control actions a token action grants. */
export function actionsOfTokenAction(tokenAction: string): readonly Action[] {
  switch (tokenAction) {
    case 'pull':
      return ['read'];
    case 'push':
      return ['create', 'update'];
    case 'delete':
      return ['delete'];
    case '*':
      return ['read', 'create', 'update', 'delete'];
    default:
      return [];
  }
}

/**
 * The scope a request needs, for a challenge: pushes ask for `pull,push` as distribution does
 * (a client pushing also checks which blobs exist), everything else for its one action.
 */
export function requiredScope(repository: string, action: Action): ResourceScope {
  const tokenAction = tokenActionFor(action);
  return { type: 'repository', name: repository, actions: tokenAction === 'push' ? ['pull', 'push'] : [tokenAction] };
}

export const CATALOG_SCOPE: ResourceScope = { type: 'registry', name: 'catalog', actions: ['*'] };

/** The access a token's `access` claim grants, as core checks it. */
export class TokenAccess implements CredentialAccess {
  private readonly byRepository = new Map<string, Set<Action>>();
  private readonly catalog: boolean;

  /**
   * `mode`: 'replaces-policy' for tokens of an external token service (their claims decide, as
   * in zot and distribution); 'narrows-policy' for the built-in service's tokens, so accessControl
   * still tells `create` from `update` and policy changes apply at once.
   */
  constructor(
    entries: readonly AccessEntry[],
    readonly mode: CredentialAccess['mode'] = 'replaces-policy',
  ) {
    let catalog = false;
    for (const entry of entries) {
      if (entry.type === 'registry' && entry.name === 'catalog' && entry.actions.includes('*')) catalog = true;
      if (entry.type !== 'repository') continue;
      // zot's older catalog grant: a repository scope with an empty name.
      if (entry.name === '' && entry.actions.includes('pull')) catalog = true;
      let actions = this.byRepository.get(entry.name);
      if (!actions) this.byRepository.set(entry.name, (actions = new Set()));
      for (const tokenAction of entry.actions) for (const action of actionsOfTokenAction(tokenAction)) actions.add(action);
    }
    this.catalog = catalog;
  }

  allows(repository: string, action: Action): boolean {
    return this.byRepository.get(repository)?.has(action) ?? false;
  }

  allowsCatalog(): boolean {
    return this.catalog;
  }
}

/** Validates an `access` claim's shape; anything else is an invalid token. */
export function parseAccessClaim(value: unknown): AccessEntry[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return undefined;
  const entries: AccessEntry[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { type, name, actions } = item as Record<string, unknown>;
    if (typeof type !== 'string' || typeof name !== 'string' || !Array.isArray(actions) || !actions.every((a) => typeof a === 'string')) {
      return undefined;
    }
    entries.push({ type, name, actions: actions as string[] });
  }
  return entries;
}
