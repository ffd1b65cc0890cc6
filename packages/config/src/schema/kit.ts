/**
 * The building blocks the config schema is written with: zod schemas that carry the wording of
 * their error messages ("expected true or false, got the string "yes""), their description and
 * default for the JSON Schema, and whether the value is a secret (never echoed in messages).
 */
import { z } from 'zod';
import { DURATION_PATTERN } from '../duration.js';

export interface Common {
  /** What the key means (the JSON Schema's and the docs' description). */
  description?: string;
  /** The value used when the key is absent, as written in a config file (documentation). */
  default?: unknown;
}

/** "got ..." in messages. Secrets are described by their type only. */
export function describeValue(value: unknown, secret = false): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    if (secret) return 'a string';
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  }
  if (secret) return `a ${typeof value}`;
  return `${typeof value} ${String(value)}`;
}

/**
 * What the schema's own tools need to know about a node, beside its JSON Schema metadata. A zod
 * registry: derived schemas (refinements, `.meta()`) inherit their parent's entry.
 */
export interface Traits {
  /** The phrase used after "expected" in messages, so a list can say "a list, each <item>". */
  expected?: string;
  /** An enumeration whose values are matched case-insensitively (see normalize.ts). */
  anyCase?: boolean;
  /** Unknown keys of this object go under this key when it is absent (an older zot layout; see normalize.ts). */
  collectInto?: string;
  /** This object's keys are matched with their exact spelling, not case-insensitively (see normalize.ts). */
  exactCase?: boolean;
}

export const traits = z.registry<Traits>();

export function traitsOf(schema: z.ZodType): Traits {
  return traits.get(schema) ?? {};
}

/** Adds `extra` to the traits of `schema` (in place) and returns it. */
export function withTraits<S extends z.ZodType>(schema: S, extra: Traits): S {
  traits.add(schema, { ...traitsOf(schema), ...extra });
  return schema;
}

export function expectedPhrase(schema: z.ZodType): string {
  return traitsOf(schema).expected ?? 'a valid value';
}

interface Wording {
  /** Replaces "expected <phrase>" (where a test pins auth's older "must be ..." wording). */
  message?: string;
  /** A secret: messages describe its type, never its value; the JSON Schema marks it `writeOnly`. */
  secret?: boolean;
}

/** The error map of a schema: missing means required; otherwise what was expected and what came. */
function errorMap(expected: string, wording: Wording = {}): (issue: { input?: unknown }) => string {
  const lead = wording.message ?? `expected ${expected}`;
  return (issue) => (issue.input === undefined ? 'is required' : `${lead}, got ${describeValue(issue.input, wording.secret)}`);
}

function finish<S extends z.ZodType>(schema: S, expected: string, options: Common & Wording): S {
  const meta: Record<string, unknown> = {};
  if (options.description !== undefined) meta.description = options.description;
  if (options.default !== undefined) meta.default = options.default;
  // JSON Schema's own annotation for values that are written but never shown.
  if (options.secret) meta.writeOnly = true;
  const result = Object.keys(meta).length > 0 ? (schema.meta(meta) as S) : schema;
  return withTraits(result, { expected });
}

export function text(
  options: Common & Wording & { nonEmpty?: boolean; pattern?: RegExp; patternHint?: string; required?: boolean } = {},
): z.ZodString {
  const expected = options.patternHint ?? (options.nonEmpty ? 'a non-empty string' : 'a string');
  const error = errorMap(expected, options);
  let schema = z.string({ error });
  // A required key written as "" is as good as missing (zot's own reading).
  if (options.required) schema = schema.min(1, { error: () => 'is required' });
  else if (options.nonEmpty) schema = schema.min(1, { error });
  if (options.pattern) schema = schema.regex(options.pattern, { error });
  return finish(schema, expected, options);
}

export function flag(options: Common = {}): z.ZodBoolean {
  return finish(z.boolean({ error: errorMap('true or false') }), 'true or false', options);
}

export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  options: Common & { anyCase?: boolean; error?: (input: unknown) => string } = {},
): z.ZodEnum<{ [K in V[number]]: K }> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  const custom = options.error;
  const schema = z.enum(values, { error: custom ? (issue) => custom(issue.input) : errorMap(expected) });
  return withTraits(finish(schema, expected, options), options.anyCase ? { anyCase: true } : {});
}

export function integer(options: Common & { min?: number; max?: number } = {}): z.ZodNumber {
  const range = options.min !== undefined || options.max !== undefined ? ` (${options.min ?? '-∞'}-${options.max ?? '∞'})` : '';
  const expected = `an integer${range}`;
  const error = errorMap(expected);
  let schema = z.number({ error }).int({ error });
  if (options.min !== undefined) schema = schema.min(options.min, { error });
  if (options.max !== undefined) schema = schema.max(options.max, { error });
  return finish(schema, expected, options);
}

/** A TCP port as a number or a numeric string: zot's own examples write `"port": "5000"`. */
export function port(options: Common & { min?: number } = {}): z.ZodUnion<readonly [z.ZodNumber, z.ZodString]> {
  const min = options.min ?? 0;
  const expected = `a port number (${min}-65535, as a number or a string)`;
  const error = errorMap(expected);
  const inRange = (n: number): boolean => Number.isInteger(n) && n >= min && n <= 65535;
  const schema = z.union(
    [
      z.number({ error }).int({ error }).min(min, { error }).max(65535, { error }),
      z
        .string({ error })
        .regex(/^\s*\d{1,5}\s*$/, { error })
        .refine((s) => inRange(Number(s)), { error }),
    ],
    { error },
  );
  return finish(schema, expected, options);
}

/** A Go duration string (`"1h"`, `"30m"`, `"1h30m"`, `"500ms"`); read with `parseDuration`. */
export function duration(options: Common = {}): z.ZodString {
  const expected = 'a duration such as "1h", "30m" or "90s"';
  const error = errorMap(expected);
  return finish(z.string({ error }).regex(DURATION_PATTERN, { error }), expected, options);
}

/** A regular expression (zot's keepTags patterns), checked to compile. */
export function regex(options: Common = {}): z.ZodString {
  const schema = z.string({ error: errorMap('a regular expression') }).superRefine((value, ctx) => {
    try {
      new RegExp(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
    }
  });
  return finish(schema, 'a regular expression', options);
}

export function list<T extends z.ZodType>(item: T, options: Common & Wording = {}): z.ZodArray<T> {
  const expected = `a list, each ${expectedPhrase(item)}`;
  return finish(z.array(item, { error: errorMap(expected, options) }), expected, options);
}

/** A map with free-form keys (repository globs, group names); its keys are never renamed. */
export function map<T extends z.ZodType>(value: T, options: Common & Wording = {}): z.ZodRecord<z.ZodString, T> {
  return finish(z.record(z.string(), value, { error: errorMap('an object', options) }), 'an object', options);
}

type Shape = Record<string, z.ZodType>;
type Partly<S extends Shape, R extends keyof S> = { [K in keyof S]: K extends R ? S[K] : z.ZodOptional<S[K]> };

/**
 * An object with known keys, all optional unless listed in `required`; unknown keys are errors
 * (reported with a "did you mean" suggestion).
 */
export function section<S extends Shape, R extends keyof S & string = never>(
  shape: S,
  options: Common & Wording & { required?: readonly R[] } = {},
): z.ZodObject<Partly<S, R>, z.core.$strict> {
  const required = new Set<string>(options.required ?? []);
  const partly = Object.fromEntries(
    Object.entries(shape).map(([key, schema]) => [key, required.has(key) ? schema : schema.optional()]),
  ) as Partly<S, R>;
  return finish(z.strictObject(partly, { error: errorMap('an object', options) }), 'an object', options);
}
