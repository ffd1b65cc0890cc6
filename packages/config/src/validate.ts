/** Checking a config (already parsed from JSON or YAML) against the schema. */
import { describeIssues, toConfigIssues, type ConfigIssue } from './issues.js';
import { normalizeKeys } from './normalize.js';
import { zotConfigSchema, type ZotConfig } from './schema/index.js';

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/** A config that cannot be used; the message says why, with the key's path when there is one. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(message: string, issues: readonly ConfigIssue[] = []) {
    super(issues.length === 0 ? message : `${message}:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Validates a whole config: keys are first mapped to the schema's spelling (see normalize.ts),
 * then every problem is reported at once, each with its key path.
 */
export function validateConfig(raw: unknown): ValidationResult<ZotConfig> {
  const normalized = normalizeKeys(raw, zotConfigSchema);
  const parsed = zotConfigSchema.safeParse(normalized.value);
  const raws = [...normalized.issues, ...(parsed.success ? [] : describeIssues(zotConfigSchema, parsed.error.issues))];
  if (raws.length > 0) return { ok: false, issues: unique(toConfigIssues(zotConfigSchema, raws, normalized.added)) };
  return { ok: true, value: parsed.data! };
}

/** Validates one section as it would appear in a config file (paths start with the section's key). */
export function validateSection<K extends keyof ZotConfig>(key: K, raw: unknown): ValidationResult<ZotConfig[K]> {
  const result = validateConfig(raw === undefined || raw === null ? {} : { [key]: raw });
  return result.ok ? { ok: true, value: result.value[key] } : result;
}

/** Validates `raw` or throws a {@link ConfigError} naming `source` and listing every problem. */
export function checkConfig(raw: unknown, source: string): ZotConfig {
  const result = validateConfig(raw);
  if (!result.ok) throw new ConfigError(`invalid config ${source}`, result.issues);
  return result.value;
}

/** One line per problem: a value failing several checks of one key gets that key's message once. */
function unique(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\n${issue.message}`;
    return !seen.has(key) && (seen.add(key), true);
  });
}
