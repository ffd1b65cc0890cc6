import { MediaTypes } from '../../media-types.js';
import { nextLink, parsePageQuery } from '../headers.js';
import type { RouteDefinition } from '../route.js';
import { json } from './responses.js';

/** The base route (spec end-1): a client's check that this is a registry. */
export const checkVersion: RouteDefinition = {
  method: 'GET',
  template: '/v2/',
  operationId: 'checkVersion',
  summary: 'Check that the registry implements the distribution spec',
  specId: 'end-1',
  action: 'none',
  responses: { 200: 'the registry implements the distribution spec', 401: 'authentication required' },
  async handle() {
    return json(200, {});
  },
};

/** The catalog, filtered by what the caller may read. */
export const listRepositories: RouteDefinition = {
  method: 'GET',
  template: '/v2/_catalog',
  operationId: 'listRepositories',
  summary: 'List the repositories the caller may read',
  action: 'none',
  responses: { 200: 'repository list', 400: 'invalid pagination parameters' },
  query: { n: 'maximum number of results', last: 'return results after this repository' },
  async handle({ request, registry, mayAccess, maxPageSize }) {
    const page = parsePageQuery(request.query, maxPageSize);
    const result = await registry.listRepositories(page, (repo) => mayAccess(repo, 'read'));
    const link = nextLink('/v2/_catalog', page.n, result.next);
    return json(200, { repositories: result.items }, link ? { Link: link } : {});
  },
};

/** Tags of a repository (spec end-8a). */
export const listTags: RouteDefinition = {
  method: 'GET',
  template: '/v2/{name}/tags/list',
  operationId: 'listTags',
  summary: 'List tags, in lexical order, with n/last pagination',
  specId: 'end-8a',
  action: 'read',
  responses: { 200: 'tag list', 400: 'invalid name or pagination', 404: 'repository unknown' },
  query: { n: 'maximum number of tags', last: 'return tags after this one' },
  async handle({ request, registry, params, maxPageSize }) {
    const page = parsePageQuery(request.query, maxPageSize);
    const result = await registry.listTags(params.name!, page);
    const link = nextLink(`/v2/${params.name!}/tags/list`, page.n, result.next);
    return json(200, { name: params.name!, tags: result.items }, link ? { Link: link } : {});
  },
};

/** Referrers of a manifest (spec end-12a). */
export const listReferrers: RouteDefinition = {
  method: 'GET',
  template: '/v2/{name}/referrers/{digest}',
  operationId: 'listReferrers',
  summary: 'List manifests whose subject is the digest (optionally filtered by artifactType)',
  specId: 'end-12a',
  action: 'read',
  responses: { 200: 'an image index of referrers', 400: 'invalid digest' },
  query: { artifactType: 'only referrers of this artifact type' },
  async handle({ request, registry, params }) {
    const artifactType = request.query.get('artifactType') ?? undefined;
    const manifests = await registry.listReferrers(params.name!, params.digest!, artifactType || undefined);
    const index = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
    const headers: Record<string, string> = { 'Content-Type': MediaTypes.ociIndex };
    if (artifactType) headers['OCI-Filters-Applied'] = 'artifactType';
    return json(200, index, headers);
  },
};
