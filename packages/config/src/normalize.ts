/**
 * The one pass that maps a config as written onto the schema's spelling before validation:
 * - keys are matched case-insensitively, as zot's loader (viper) does (`rootdirectory`,
 *   `CACert`), except in sections whose schema has the `exactCase` trait;
 * - a key with no value (`key:` in YAML, `null`) means "not set";
 * - enumerations with the `anyCase` trait take their canonical spelling (`READ` -> `read`);
 * - zot's older layouts are folded into the current one (`collectInto`).
 * Unknown keys are left in place for validation to report.
 */
import { z } from 'zod';
import { child, traitsAlong, unwrap, type PathKey } from './walk.js';

export interface RawIssue {
  path: PathKey[];
  message: string;
}

export interface Normalized {
  value: unknown;
  /** Problems the pass found itself (two spellings of one key). */
  issues: RawIssue[];
  /** Paths of keys the pass added (a layout folded in): error messages leave them out. */
  added: PathKey[][];
}

export function normalizeKeys(value: unknown, schema: z.ZodType): Normalized {
  const state: Normalized = { value: undefined, issues: [], added: [] };
  state.value = walk(value, schema, [], state);
  return state;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Sets an own property, even one named `__proto__`. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function walk(value: unknown, schema: z.ZodType, path: PathKey[], state: Normalized): unknown {
  const node = unwrap(schema);
  if (Array.isArray(value) && node instanceof z.ZodArray) {
    return value.map((item, i) => walk(item, node.element as z.ZodType, [...path, i], state));
  }
  if (isPlainObject(value) && node instanceof z.ZodRecord) {
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) setOwn(out, key, walk(entry, node.valueType as z.ZodType, [...path, key], state));
    return out;
  }
  if (isPlainObject(value) && node instanceof z.ZodObject) return walkObject(value, schema, path, state);
  if (typeof value === 'string' && node instanceof z.ZodEnum && traitsAlong(schema).anyCase) {
    return (node.options as string[]).find((option) => option.toLowerCase() === value.toLowerCase()) ?? value;
  }
  return value;
}

function walkObject(value: Record<string, unknown>, schema: z.ZodType, path: PathKey[], state: Normalized): Record<string, unknown> {
  const traits = traitsAlong(schema);
  const shape = (unwrap(schema) as z.ZodObject).shape as Record<string, z.ZodType>;
  const byLowerCase = new Map(Object.keys(shape).map((key) => [key.toLowerCase(), key]));
  const out: Record<string, unknown> = {};
  const spelledAs = new Map<string, string>();
  const unknown: Array<[string, unknown]> = [];
  for (const [key, entry] of Object.entries(value)) {
    const canonical = Object.hasOwn(shape, key) ? key : traits.exactCase ? undefined : byLowerCase.get(key.toLowerCase());
    if (canonical === undefined) {
      unknown.push([key, entry]);
      continue;
    }
    const earlier = spelledAs.get(canonical);
    if (earlier !== undefined) {
      state.issues.push({ path: [...path, key], message: `same key as "${earlier}" (keys are case-insensitive)` });
      continue;
    }
    spelledAs.set(canonical, key);
    if (entry === null) continue; // `key:` with no value: not set
    setOwn(out, canonical, walk(entry, shape[canonical]!, [...path, canonical], state));
  }
  const into = traits.collectInto;
  if (unknown.length > 0 && into !== undefined && !spelledAs.has(into) && Object.hasOwn(shape, into)) {
    const collected: Record<string, unknown> = {};
    for (const [key, entry] of unknown) setOwn(collected, key, entry);
    state.added.push([...path, into]);
    setOwn(out, into, walk(collected, shape[into]!, [...path, into], state));
    return out;
  }
  for (const [key, entry] of unknown) {
    const step = child(schema, key);
    setOwn(out, key, step ? walk(entry, step.schema, [...path, key], state) : entry);
  }
  return out;
}
