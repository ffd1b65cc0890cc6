/**
 * A tiny declarative schema language for the config file: each node checks a value and reports
 * problems with their path (`http.port`), and the TypeScript type of a valid config is inferred
 * from the schema, so adding a key in one place gives both validation and types.
 */

export interface ConfigIssue {
  /** Dotted path of the offending key, e.g. `http.prot` or `http.auth.htpasswd.path`. */
  path: string;
  message: string;
}

export interface Schema<T> {
  /** Human description of the expected value, used in messages ("a port number (1-65535)"). */
  readonly expected: string;
  readonly description?: string | undefined;
  /** Pushes problems found in `value` (at `path`) onto `issues`. */
  check(value: unknown, path: string, issues: ConfigIssue[]): void;
  /** Phantom: the type a valid value has. */
  readonly __type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

interface Common {
  description?: string;
}

function node<T>(expected: string, description: string | undefined, check: Schema<T>['check']): Schema<T> {
  return { expected, description, check };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}

function wrongType(path: string, expected: string, value: unknown): ConfigIssue {
  return { path, message: `expected ${expected}, got ${typeName(value)}` };
}

export function string(options: Common & { nonEmpty?: boolean; pattern?: RegExp; patternHint?: string } = {}): Schema<string> {
  const expected = options.patternHint ?? (options.nonEmpty ? 'a non-empty string' : 'a string');
  return node(expected, options.description, (value, path, issues) => {
    if (typeof value !== 'string') issues.push(wrongType(path, expected, value));
    else if (options.nonEmpty && value.trim() === '') issues.push({ path, message: `expected ${expected}, got an empty string` });
    else if (options.pattern && !options.pattern.test(value)) issues.push(wrongType(path, expected, value));
  });
}

export function oneOf<const V extends string>(values: readonly V[], options: Common = {}): Schema<V> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return node(expected, options.description, (value, path, issues) => {
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) issues.push(wrongType(path, expected, value));
  });
}

export function integer(options: Common & { min?: number; max?: number } = {}): Schema<number> {
  const range = options.min !== undefined || options.max !== undefined ? ` (${options.min ?? '-∞'}-${options.max ?? '∞'})` : '';
  const expected = `an integer${range}`;
  return node(expected, options.description, (value, path, issues) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) issues.push(wrongType(path, expected, value));
    else if ((options.min !== undefined && value < options.min) || (options.max !== undefined && value > options.max)) {
      issues.push({ path, message: `expected ${expected}, got ${value}` });
    }
  });
}

export function boolean(options: Common = {}): Schema<boolean> {
  return node('true or false', options.description, (value, path, issues) => {
    if (typeof value !== 'boolean') issues.push(wrongType(path, 'true or false', value));
  });
}

/** A TCP port, as a number or a numeric string: zot's own examples write `"port": "5000"`. */
export function port(options: Common = {}): Schema<number | string> {
  const expected = 'a port number (0-65535, as a number or a string)';
  return node(expected, options.description, (value, path, issues) => {
    const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) issues.push(wrongType(path, expected, value));
  });
}

/** A Go-style duration as zot writes them (`"1h"`, `"30m"`, `"1h30m"`, `"500ms"`). */
export function duration(options: Common = {}): Schema<string> {
  const expected = 'a duration such as "1h", "30m" or "90s"';
  return node(expected, options.description, (value, path, issues) => {
    if (typeof value !== 'string' || parseDuration(value) === undefined) issues.push(wrongType(path, expected, value));
  });
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a Go duration string, or undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < trimmed.length) {
    part.lastIndex = index;
    const match = part.exec(trimmed);
    if (!match) return undefined;
    total += Number(match[1]) * DURATION_UNITS[match[2]!]!;
    index = part.lastIndex;
  }
  return index > 0 ? total : undefined;
}

export function array<T>(item: Schema<T>, options: Common = {}): Schema<T[]> {
  const expected = `a list of ${item.expected}`;
  return node(expected, options.description, (value, path, issues) => {
    if (!Array.isArray(value)) {
      issues.push(wrongType(path, expected, value));
      return;
    }
    value.forEach((v, i) => item.check(v, `${path}[${i}]`, issues));
  });
}

/** A map with free-form keys (repository globs in access control, for instance). */
export function record<T>(value: Schema<T>, options: Common = {}): Schema<Record<string, T>> {
  const expected = 'an object';
  return node(expected, options.description, (input, path, issues) => {
    if (!isObject(input)) {
      issues.push(wrongType(path, expected, input));
      return;
    }
    for (const [key, v] of Object.entries(input)) value.check(v, joinPath(path, key), issues);
  });
}

type Shape = Record<string, Schema<unknown>>;

/** An object with known keys (all optional unless listed in `required`); unknown keys are errors. */
export type ObjectOf<P extends Shape, R extends keyof P = never> = { [K in Exclude<keyof P, R>]?: Infer<P[K]> } & {
  [K in R]: Infer<P[K]>;
};

export interface ObjectSchema<P extends Shape, R extends keyof P = never> extends Schema<ObjectOf<P, R>> {
  readonly properties: P;
}

export function object<P extends Shape, R extends keyof P & string = never>(
  properties: P,
  options: Common & { required?: readonly R[] } = {},
): ObjectSchema<P, R> {
  const expected = 'an object';
  const known = Object.keys(properties);
  return {
    expected,
    description: options.description,
    properties,
    check(value, path, issues) {
      if (!isObject(value)) {
        issues.push(wrongType(path || '(top level)', expected, value));
        return;
      }
      for (const key of options.required ?? []) {
        if (value[key] === undefined || value[key] === null) issues.push({ path: joinPath(path, key), message: 'is required' });
      }
      for (const [key, v] of Object.entries(value)) {
        const schema = properties[key];
        const keyPath = joinPath(path, key);
        if (!schema) {
          const hint = suggest(key, known);
          issues.push({ path: keyPath, message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}` });
          continue;
        }
        if (v === undefined || v === null) continue; // YAML `key:` with no value means "not set"
        schema.check(v, keyPath, issues);
      }
    },
  };
}

export function validate<T>(schema: Schema<T>, value: unknown): { ok: true; value: T } | { ok: false; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  schema.check(value, '', issues);
  return issues.length === 0 ? { ok: true, value: value as T } : { ok: false, issues };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function joinPath(path: string, key: string): string {
  const safe = /^[A-Za-z_][\w-]*$/.test(key) ? key : JSON.stringify(key);
  return path ? `${path}.${safe}` : safe;
}

/** The closest known key, for typos (`prot` -> `port`) and wrong case (`rootdirectory`). */
function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key.toLowerCase(), candidate.toLowerCase());
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
