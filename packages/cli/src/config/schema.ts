/**
 * The zot config file, as one declarative description: every key zot-ts accepts, its type and
 * what it means. `zot-cli verify` checks a file against it and the `ZotConfig` type is inferred
 * from it. To support a new setting, add its key here (and read it where it is used).
 *
 * Key names and shapes follow zot's config (https://zotregistry.dev/ "Configuration"), so a zot
 * config file works as it is, minus the features zot-ts does not implement (those are refused
 * with their path rather than silently ignored).
 */
import { boolean, duration, object, oneOf, port, string, type Infer } from './schema-kit.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export const storageSchema = object({
  rootDirectory: string({ nonEmpty: true, description: 'where repositories are stored, one OCI image layout each' }),
  dedupe: boolean({ description: 'store identical blobs once across repositories (hard links)' }),
  gc: boolean({ description: 'garbage-collect unreferenced blobs' }),
  gcDelay: duration({ description: 'how old an unreferenced blob must be before gc removes it' }),
  gcInterval: duration({ description: 'how often gc runs' }),
});

export const httpSchema = object({
  address: string({ nonEmpty: true, description: 'listen address, e.g. 127.0.0.1 or 0.0.0.0' }),
  port: port({ description: 'listen port' }),
  realm: string({ description: 'realm announced in WWW-Authenticate' }),
});

export const logSchema = object({
  level: oneOf(LOG_LEVELS, { description: 'least severe level written' }),
  output: string({ nonEmpty: true, description: 'log file path (default: standard output)' }),
});

export const configSchema = object({
  distSpecVersion: string({
    pattern: /^\d+\.\d+\.\d+(?:-[\w.-]+)?$/,
    patternHint: 'a version such as "1.1.0"',
    description: 'distribution-spec version the registry reports',
  }),
  storage: storageSchema,
  http: httpSchema,
  log: logSchema,
});

/** A config file that passed {@link configSchema}. */
export type ZotConfig = Infer<typeof configSchema>;
