/** The config schema as a JSON Schema (draft 2020-12), for editors, other tools and the docs. */
import { z } from 'zod';
import { zotConfigSchema } from './schema/index.js';

export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema of a config file. It describes the keys in their canonical spelling; zot-ts
 * also accepts other spellings of case-insensitive keys, which `zot-cli verify` maps first.
 */
export function configJsonSchema(): JsonSchema {
  const schema = z.toJSONSchema(zotConfigSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  return { $schema: schema.$schema, title: 'zot-ts configuration', ...schema };
}
