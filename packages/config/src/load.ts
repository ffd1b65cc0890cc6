/** Reading a config file: JSON or YAML by extension, then {@link checkConfig}. */
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import yaml from 'js-yaml';
import type { ZotConfig } from './schema/index.js';
import { checkConfig, ConfigError } from './validate.js';

export interface LoadedConfig {
  config: ZotConfig;
  /** Absolute path of the file, or undefined for a config that came from no file (an embedded default). */
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
  return checkConfig(parseConfigText(text, source), source);
}

/** The text parsed as JSON or YAML (by `source`'s extension), not yet validated. */
export function parseConfigText(text: string, source: string): unknown {
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
