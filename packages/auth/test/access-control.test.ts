import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Identity } from '@zotjs/core';
import { parseSecurityConfig } from '../src/config.js';
import { AccessControlAuthorizer, AuthenticatedOnlyAuthorizer } from '../src/policy/access-control.js';

const user = (username: string, groups: string[] = []): Identity => ({ username, groups, method: 'basic' });

function authorizer(accessControl: unknown): AccessControlAuthorizer {
  return new AccessControlAuthorizer(parseSecurityConfig({ accessControl }).accessControl!);
}

// zot's examples/config-policy.json (older layout: globs directly under accessControl).
const zotPolicyExample = {
  '**': { policies: [{ users: ['charlie'], actions: ['read', 'create', 'update'] }], defaultPolicy: ['read', 'create'] },
  'tmp/**': { defaultPolicy: ['read', 'create', 'update'] },
  'infra/**': {
    policies: [
      { users: ['alice', 'bob'], actions: ['create', 'read', 'update', 'delete'] },
      { users: ['mallory'], actions: ['create', 'read'] },
    ],
    defaultPolicy: ['read'],
  },
  'repos2/repo': {
    policies: [
      { users: ['charlie'], actions: ['read', 'create'] },
      { users: ['mallory'], actions: ['create', 'read'] },
    ],
    defaultPolicy: ['read'],
  },
  adminPolicy: { users: ['admin'], actions: ['read', 'create', 'update', 'delete'] },
};

test("zot's config-policy.json example: the longest matching glob decides", () => {
  const az = authorizer(zotPolicyExample);
  // infra/** is more specific than **: charlie only gets its defaultPolicy there.
  assert.deepEqual([...az.allowedActions(user('charlie'), 'infra/db')].sort(), ['read']);
  assert.deepEqual([...az.allowedActions(user('charlie'), 'apps/web')].sort(), ['create', 'read', 'update']);
  assert.deepEqual([...az.allowedActions(user('alice'), 'infra/db')].sort(), ['create', 'delete', 'read', 'update']);
  assert.deepEqual([...az.allowedActions(user('mallory'), 'infra/db')].sort(), ['create', 'read']);
  assert.deepEqual([...az.allowedActions(user('someone'), 'apps/web')].sort(), ['create', 'read']);
  assert.deepEqual([...az.allowedActions(user('someone'), 'tmp/x')].sort(), ['create', 'read', 'update']);
  assert.deepEqual([...az.allowedActions(user('charlie'), 'repos2/repo')].sort(), ['create', 'read']);
  // The admin policy adds its actions everywhere.
  assert.ok(az.authorize(user('admin'), 'infra/db', 'delete'));
  assert.ok(az.authorize(user('admin'), 'repos2/repo', 'delete'));
  assert.ok(!az.authorize(user('charlie'), 'apps/web', 'delete'));
  // No anonymous policy: anonymous callers get nothing and must log in for /v2/.
  assert.ok(!az.authorize(undefined, 'apps/web', 'read'));
  assert.equal(az.allowsAnonymousBase(), false);
});

test('current zot layout with repositories, groups from the identity and from accessControl.groups', () => {
  const az = authorizer({
    repositories: {
      '**': { policies: [{ groups: ['developers'], actions: ['read', 'create'] }], defaultPolicy: [] },
      'team/*': {
        policies: [
          { users: ['alice'], actions: ['read'] },
          { groups: ['team-admins'], actions: ['read', 'create', 'update', 'delete'] },
        ],
      },
    },
    groups: { 'team-admins': { users: ['bob'] } },
    adminPolicy: { groups: ['ops'], actions: ['delete'] },
  });
  assert.ok(az.authorize(user('dave', ['developers']), 'x/y', 'create'));
  assert.ok(!az.authorize(user('dave'), 'x/y', 'read'));
  assert.ok(az.authorize(user('alice'), 'team/app', 'read'));
  assert.ok(!az.authorize(user('alice'), 'team/app', 'create'), 'pull allowed, push denied');
  assert.ok(az.authorize(user('bob'), 'team/app', 'update'), 'bob is in team-admins through accessControl.groups');
  assert.ok(!az.authorize(user('bob'), 'x/y', 'read'));
  assert.ok(az.authorize(user('eve', ['ops']), 'x/y', 'delete'));
  assert.ok(!az.authorize(user('eve', ['ops']), 'x/y', 'read'));
  // team/* does not match deeper names: those fall back to **.
  assert.ok(az.authorize(user('dave', ['developers']), 'team/app/sub', 'create'));
});

test('anonymous read-only mode', () => {
  const az = authorizer({ repositories: { '**': { anonymousPolicy: ['read'], defaultPolicy: ['read', 'create'] } } });
  // The /v2/ ping still challenges (clients only log in after a 401 there) unless asked otherwise.
  assert.equal(az.allowsAnonymousBase(), false);
  const config = parseSecurityConfig({ accessControl: { repositories: { '**': { anonymousPolicy: ['read'] } } } }).accessControl!;
  assert.equal(new AccessControlAuthorizer(config, { anonymousBase: true }).allowsAnonymousBase(), true);
  const closed = parseSecurityConfig({ accessControl: { repositories: { '**': { defaultPolicy: ['read'] } } } }).accessControl!;
  assert.equal(new AccessControlAuthorizer(closed, { anonymousBase: true }).allowsAnonymousBase(), false, 'nothing anonymous to read');
  assert.ok(az.authorize(undefined, 'any/repo', 'read'));
  assert.ok(!az.authorize(undefined, 'any/repo', 'create'));
  assert.ok(az.authorize(user('x'), 'any/repo', 'create'));
});

test('anonymousPolicy applies to anonymous callers only; defaultPolicy to authenticated ones only (as zot)', () => {
  const az = authorizer({ repositories: { 'public/**': { anonymousPolicy: ['read'] }, '**': { defaultPolicy: ['read'] } } });
  assert.ok(az.authorize(undefined, 'public/a', 'read'));
  assert.ok(!az.authorize(undefined, 'private/a', 'read'));
  assert.ok(!az.authorize(user('x'), 'public/a', 'read'));
  assert.ok(az.authorize(user('x'), 'private/a', 'read'));
});

test('patterns are matched lowercase, like zot whose config loader lowercases keys', () => {
  const az = authorizer({ repositories: { 'Team/**': { defaultPolicy: ['read'] } } });
  assert.ok(az.authorize(user('x'), 'team/app', 'read'));
});

test('repositories matching no pattern allow nothing but the admin policy', () => {
  const az = authorizer({ repositories: { 'a/*': { defaultPolicy: ['read'] } }, adminPolicy: { users: ['root'], actions: ['read'] } });
  assert.ok(!az.authorize(user('x'), 'b/c', 'read'));
  assert.ok(az.authorize(user('root'), 'b/c', 'read'));
});

test('without accessControl: authenticated callers may do anything, anonymous ones nothing', () => {
  const az = new AuthenticatedOnlyAuthorizer();
  assert.ok(az.authorize(user('x')));
  assert.ok(!az.authorize(undefined));
  assert.equal(az.allowsAnonymousBase(), false);
});
