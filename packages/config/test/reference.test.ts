import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigReference } from '../src/index.js';

test('the reference in README.md is the one the schema makes', () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const embedded = /<!-- reference:start -->\n([\s\S]*?)<!-- reference:end -->/.exec(readme)?.[1];
  assert.equal(embedded, renderConfigReference(), 'regenerate it: node packages/cli/bin/zot-cli.js schema --markdown');
});

test('every key has a row with its type, and defaults are shown as written', () => {
  const table = renderConfigReference();
  assert.match(table, /^\| `storage\.gcDelay` \| duration .* \| `"1h"` \| how old an unreferenced blob/m);
  assert.match(table, /^\| `http\.auth\.ldap\.baseDN` \| string, required \|/m);
  assert.match(table, /^\| `http\.auth\.ldap\.bindPassword` \| string, secret \|/m);
  assert.match(table, /^\| `http\.accessControl\.repositories\.<name>\.defaultPolicy` \| list of `read`, `create`, `update`, `delete` \|/m);
  assert.match(table, /^\| `http\.port` \| integer \(0–65535\) or string \| `5000` \|/m);
});
