import { blobRoutes } from './routes/blobs.js';
import { checkVersion, listReferrers, listRepositories, listTags } from './routes/listings.js';
import { manifestRoutes } from './routes/manifests.js';
import { uploadRoutes } from './routes/uploads.js';
import type { RouteDefinition } from './route.js';

export { templatePattern, type HttpMethod, type JsonSchema, type RouteContext, type RouteDefinition } from './route.js';

/** The registry API (distribution spec v1.1, end-1 to end-13, plus `_catalog`), in dispatch and documentation order. */
export const registryRoutes: readonly RouteDefinition[] = [
  checkVersion,
  listRepositories,
  ...blobRoutes,
  ...manifestRoutes,
  ...uploadRoutes,
  listTags,
  listReferrers,
];
