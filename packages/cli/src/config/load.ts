import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import yaml from 'js-yaml';
import { configSchema, type ZotConfig } from './schema.js';
import { validate, type ConfigIssue } from './schema-kit.js';

/** A config that cannot be used; the message says why, with the key's path when there is one. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(message: string, issues: readonly ConfigIssue[] = []) {
    super(issues.length === 0 ? message : `${message}:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface LoadedConfig {
  config: ZotConfig;
  /** Absolute path of the file, or undefined for the embedded default. */
  path?: string;
}

/** Reads, parses (JSON or YAML, by extension; other extensions: JSON, then YAML) and validates a config file. */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`config file not found: ${path}`);
    if (code === 'EACCES') throw new ConfigError(`config file not readable (permission denied): ${path}`);
    if (code === 'EISDIR') throw new ConfigError(`config path is a directory, not a file: ${path}`);
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  return { config: parseConfig(text, path), path };
}

/** Parses and validates config text; `source` names it in messages and picks the format by extension. */
export function parseConfig(text: string, source: string): ZotConfig {
  const raw = parseText(text, source);
  const result = validate(configSchema, raw);
  if (!result.ok) throw new ConfigError(`invalid config ${source}`, result.issues);
  return result.value;
}

function parseText(text: string, source: string): unknown {
  const ext = extname(source).toLowerCase();
  if (text.trim() === '') throw new ConfigError(`config file is empty: ${source}`);
  if (ext === '.json') return parseJson(text, source);
  if (ext === '.yaml' || ext === '.yml') return parseYaml(text, source);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return parseYaml(text, source);
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError(`cannot parse ${source} as JSON: ${(err as Error).message}`);
  }
}

function parseYaml(text: string, source: string): unknown {
  try {
    // JSON_SCHEMA: no YAML 1.1 surprises (`on` -> true, timestamps); duplicate keys are errors.
    return yaml.load(text, { schema: yaml.JSON_SCHEMA, filename: source });
  } catch (err) {
    const message = err instanceof yaml.YAMLException ? err.message : (err as Error).message;
    throw new ConfigError(`cannot parse ${source} as YAML: ${message}`);
  }
}
