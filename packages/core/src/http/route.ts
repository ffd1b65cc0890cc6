import type { Action } from '../auth.js';
import type { Registry } from '../registry.js';
import type { RegistryRequest, RegistryResponse, RequestOutcome } from './types.js';

/** What a route handler gets. */
export interface RouteContext {
  request: RegistryRequest;
  registry: Registry;
  /** Path parameters, percent-decoded where the grammar allows it (references). */
  params: { name?: string; reference?: string; digest?: string; uploadId?: string; file?: string };
  outcome: RequestOutcome;
  /** Access check for a second repository (the `from` of a mount, each repository of the catalog). */
  mayAccess(repository: string, action: Action): Promise<boolean>;
  /**
   * Requires `action` on the route's repository beyond what was checked before the route ran
   * (what the body turned out to need); throws the same 401/403 the check would have.
   */
  demand(action: Action): Promise<void>;
  maxPageSize: number;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One route of the registry API. The table `registryRoutes` (routes.ts, its routes defined by
 * concern in routes/) is the single source of truth: the handler dispatches on it and the
 * OpenAPI document is generated from it.
 */
export interface RouteDefinition {
  method: HttpMethod;
  /** OpenAPI-style template, e.g. `/v2/{name}/manifests/{reference}`. */
  template: string;
  operationId: string;
  summary: string;
  /** The distribution-spec endpoint id (`end-3`), where there is one. */
  specId?: string;
  /** What access-control action the route needs on `{name}`; `none` for the base and catalog routes. */
  action: Action | 'none';
  /**
   * The action this request really needs, when it depends on the registry's state; `action`
   * otherwise. Pushing over an existing tag needs `update` rather than `create`, as in zot.
   */
  resolveAction?(ctx: Pick<RouteContext, 'registry' | 'params' | 'mayAccess'>): Promise<Action>;
  /** Success and failure statuses the route answers with (documented in OpenAPI). */
  responses: Record<number, string>;
  /** Query parameters the route reads. */
  query?: Record<string, string>;
  /** Headers the route reads. */
  requestHeaders?: Record<string, string>;
  /** Whether the request has a body, and its media type. */
  requestBody?: { mediaType: string; description: string };
  /** Documentation: what a success answer carries, when the route is not a registry route core describes itself. */
  responseBody?: { mediaTypes: readonly string[]; schema?: JsonSchema };
  /** Documentation: the OpenAPI tag grouping the route (default `distribution`). */
  tag?: string;
  /** Served without authentication (health probes, documentation): credentials are not even checked. */
  public?: boolean;
  handle(ctx: RouteContext): Promise<RegistryResponse>;
}

/** A JSON Schema object, as embedded in the OpenAPI document. */
export type JsonSchema = { [keyword: string]: unknown };

const NAME = '(?<name>[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*)';
const SEGMENT = '[^/]+';

/** Compiles a template into a regular expression over the raw (undecoded) path. */
export function templatePattern(template: string): RegExp {
  const source = template
    .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace('{name}', NAME)
    .replace('{reference}', `(?<reference>${SEGMENT})`)
    .replace('{digest}', `(?<digest>${SEGMENT})`)
    .replace('{uploadId}', `(?<uploadId>${SEGMENT})`)
    // One path segment of a static asset (`/swagger/{file}`).
    .replace('{file}', `(?<file>${SEGMENT})`);
  return new RegExp(`^${source}$`);
}
