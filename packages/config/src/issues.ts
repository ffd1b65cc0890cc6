/**
 * Validation problems as `zot-cli verify` prints them: the key's path in the file
 * (`http.auth.ldap.port`, `http.accessControl.repositories["team/*"]`) and what is wrong.
 */
import type { z } from 'zod';
import type { RawIssue } from './normalize.js';
import { child, knownKeys, schemaAt, type PathKey } from './walk.js';

export interface ConfigIssue {
  /** Where the problem is: `http.prot`, `http.auth.htpasswd.path`, `storage.retention.policies[0]`. */
  path: string;
  message: string;
}

const sameKeys = (a: readonly PathKey[], b: readonly PathKey[]): boolean => a.length === b.length && a.every((key, i) => key === b[i]);

/**
 * Writes `path` as it appears in the file: schema keys dotted, free-form keys (repository globs,
 * group names) and odd names bracketed and quoted, list indexes bracketed. Keys in `added` were
 * put there by the normalisation pass, not by the file, and are left out.
 */
export function formatPath(root: z.ZodType, path: readonly PathKey[], added: readonly PathKey[][] = []): string {
  let out = '';
  let schema: z.ZodType | undefined = root;
  path.forEach((key, i) => {
    const step = schema && child(schema, key);
    schema = step?.schema;
    if (added.some((prefix) => sameKeys(prefix, path.slice(0, i + 1)))) return;
    if (typeof key === 'number') out += `[${key}]`;
    else if (step?.kind !== 'entry' && /^[A-Za-z_][\w-]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  });
  return out === '' ? '(top level)' : out;
}

/** One message per problem, unknown keys one by one with a suggestion. */
export function describeIssues(root: z.ZodType, issues: readonly z.core.$ZodIssue[], added: readonly PathKey[][] = []): RawIssue[] {
  return issues.flatMap((issue): RawIssue[] => {
    const path = issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key));
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schemaAt(root, path));
      return issue.keys.map((key) => ({ path: [...path, key], message: unknownKey(key, known) }));
    }
    if (issue.code === 'invalid_key')
      return describeIssues(
        root,
        issue.issues.map((inner) => ({ ...inner, path: [...path, ...inner.path] })),
        added,
      );
    return [{ path, message: issue.message }];
  });
}

export function toConfigIssues(root: z.ZodType, raw: readonly RawIssue[], added: readonly PathKey[][] = []): ConfigIssue[] {
  return raw.map((issue) => ({ path: formatPath(root, issue.path, added), message: issue.message }));
}

function unknownKey(key: string, known: readonly string[]): string {
  const hint = suggest(key, known);
  return hint ? `unknown key (did you mean "${hint}"?)` : 'unknown key (not supported by zot-ts)';
}

/** The closest known key, for typos (`prot` -> `port`) and wrong case in case-sensitive sections. */
function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
