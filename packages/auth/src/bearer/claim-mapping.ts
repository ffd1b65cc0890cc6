/**
 * zot's CEL claim mapping for OIDC tokens (`claimMapping` of `bearer.oidc[]`): variables computed
 * from `claims` (and earlier variables, as `vars`), validations that must hold, then a username
 * (default `claims.iss + '/' + claims.sub`) and optional groups. Expressions are compiled once.
 */
import { parse } from '@marcbachmann/cel-js';

export interface ClaimMappingConfig {
  variables?: readonly { name: string; expression: string }[];
  validations?: readonly { expression: string; message: string }[];
  username?: string;
  groups?: string;
}

export const DEFAULT_USERNAME_EXPRESSION = "claims.iss + '/' + claims.sub";

type Compiled = ReturnType<typeof parse>;

/** A claim mapping could not be compiled: `path` names the offending entry (`variables[1]`, `username`). */
export class ClaimMappingError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ClaimMappingError';
  }
}

export class ClaimMapper {
  private readonly variables: { name: string; expr: Compiled }[];
  private readonly validations: { expr: Compiled; message: string }[];
  private readonly username: Compiled;
  private readonly groups: Compiled | undefined;

  constructor(config: ClaimMappingConfig = {}) {
    const compile = (expression: string, path: string): Compiled => {
      try {
        return parse(expression);
      } catch (err) {
        throw new ClaimMappingError(path, (err as Error).message);
      }
    };
    this.variables = (config.variables ?? []).map((v, i) => {
      if (!v.name) throw new ClaimMappingError(`variables[${i}].name`, 'is required');
      return { name: v.name, expr: compile(v.expression, `variables[${i}].expression`) };
    });
    this.validations = (config.validations ?? []).map((v, i) => {
      if (!v.message) throw new ClaimMappingError(`validations[${i}].message`, 'is required');
      return { expr: compile(v.expression, `validations[${i}].expression`), message: v.message };
    });
    this.username = compile(config.username || DEFAULT_USERNAME_EXPRESSION, 'username');
    this.groups = config.groups ? compile(config.groups, 'groups') : undefined;
  }

  /** The username and groups for a verified token's claims; throws when a validation fails. */
  map(claims: Record<string, unknown>): { username: string; groups: string[] } {
    const vars: Record<string, unknown> = {};
    const context = { claims, vars };
    for (const v of this.variables) vars[v.name] = this.variableValue(v.expr(context), v.name);
    for (const v of this.validations) {
      if (v.expr(context) !== true) throw new Error(`claim validation failed: ${v.message}`);
    }
    const username = this.username(context);
    if (typeof username !== 'string' || username === '') throw new Error('the username expression did not give a non-empty string');
    if (!this.groups) return { username, groups: [] };
    const groups = this.groups(context);
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string'))
      throw new Error('the groups expression did not give a list of strings');
    return { username, groups: groups as string[] };
  }

  private variableValue(value: unknown, name: string): unknown {
    if (value === undefined) throw new Error(`variable ${name} has no value`);
    return value;
  }
}
