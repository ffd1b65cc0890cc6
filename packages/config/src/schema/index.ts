/**
 * The zot config file as zot-ts accepts it, as one schema: every key, its type, meaning and
 * default. Validation (`validateConfig`), the TypeScript types and the JSON Schema
 * (`configJsonSchema`) all come from it. To support a new setting, add its key to its section's
 * file here (with its description and default) and read it where it is used.
 *
 * Key names and shapes follow zot's config (https://zotregistry.dev/ "Configuration"), so a zot
 * config file works as it is, minus the features zot-ts does not implement (those are refused
 * with their path rather than silently ignored).
 */
import type { z } from 'zod';
import { checkSharedAuthState } from './auth-tokens.js';
import { extensionsSchema, logSchema } from './extensions.js';
import { httpSchema } from './http.js';
import { section, text } from './kit.js';
import { storageSchema } from './storage.js';

export const DIST_SPEC_VERSION = '1.1.0';

export const zotConfigSchema = section(
  {
    distSpecVersion: text({
      pattern: /^\d+\.\d+\.\d+(?:-[\w.-]+)?$/,
      patternHint: 'a version such as "1.1.0"',
      default: DIST_SPEC_VERSION,
      description: 'distribution-spec version the registry reports',
    }),
    storage: storageSchema,
    http: httpSchema,
    log: logSchema,
    extensions: extensionsSchema,
  },
  { description: 'zot-ts registry configuration (zot format)' },
).superRefine(checkSharedAuthState, { when: () => true });

/** A config that passed validation: keys in the schema's spelling, values as written. */
export type ZotConfig = z.output<typeof zotConfigSchema>;
