/**
 * Following the schema along a path of keys: the normalisation pass, error paths and "did you
 * mean" suggestions all need to know what a key is in the schema.
 */
import { z } from 'zod';
import { traitsOf, type Traits } from './schema/kit.js';

export type PathKey = string | number;

/** What a step from an object, map or list leads to. */
export interface Step {
  /** `property`: a key of the schema; `entry`: a free-form key (map, catchall); `item`: a list index. */
  kind: 'property' | 'entry' | 'item';
  schema: z.ZodType;
}

/** The schema under its wrappers (optional, nullable, default, pipes, lazy). */
export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault)
      current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else if (current instanceof z.ZodLazy) current = current.unwrap() as z.ZodType;
    else return current;
  }
}

/** Traits of a node, its wrappers' included. */
export function traitsAlong(schema: z.ZodType): Traits {
  let merged: Traits = traitsOf(schema);
  let current = schema;
  while (current !== unwrap(current)) {
    current = unwrapOnce(current);
    merged = { ...traitsOf(current), ...merged };
  }
  return merged;
}

function unwrapOnce(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault)
    return schema.unwrap() as z.ZodType;
  if (schema instanceof z.ZodPipe) return schema.in as z.ZodType;
  if (schema instanceof z.ZodLazy) return schema.unwrap() as z.ZodType;
  return schema;
}

export function child(schema: z.ZodType, key: PathKey): Step | undefined {
  const node = unwrap(schema);
  if (node instanceof z.ZodObject) {
    const shape = node.shape as Record<string, z.ZodType>;
    if (typeof key === 'string' && Object.hasOwn(shape, key)) return { kind: 'property', schema: shape[key]! };
    const catchall = node.def.catchall as z.ZodType | undefined;
    return catchall && !(catchall instanceof z.ZodNever) ? { kind: 'entry', schema: catchall } : undefined;
  }
  if (node instanceof z.ZodRecord) return { kind: 'entry', schema: node.valueType as z.ZodType };
  if (node instanceof z.ZodArray && typeof key === 'number') return { kind: 'item', schema: node.element as z.ZodType };
  return undefined;
}

/** The schema at `path`, or undefined where the path leaves it. */
export function schemaAt(root: z.ZodType, path: readonly PathKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = root;
  for (const key of path) {
    current = current && child(current, key)?.schema;
    if (!current) return undefined;
  }
  return current;
}

/** The keys an object schema knows (empty for other nodes). */
export function knownKeys(schema: z.ZodType | undefined): string[] {
  const node = schema && unwrap(schema);
  return node instanceof z.ZodObject ? Object.keys(node.shape as object) : [];
}
