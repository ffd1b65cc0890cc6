export * from './errors.js';
export * from './digest.js';
export * from './names.js';
export * from './media-types.js';
export * from './storage.js';
export * from './storage-capabilities.js';
export * from './auth.js';
export * from './events.js';
export { parseManifest, referrerArtifactType, type ManifestInfo } from './manifest.js';
export * from './registry.js';
export * from './http/types.js';
export * from './http/handler.js';
export type { UploadSessionEvent, UploadSessionSharing } from './http/upload-limiter.js';
export {
  registryRoutes,
  templatePattern,
  type RouteDefinition,
  type RouteContext,
  type HttpMethod,
  type JsonSchema,
} from './http/routes.js';
export * from './http/openapi.js';
export { KeyedMutex } from './util/keyed-mutex.js';
export { globToRegExp, globSyntaxProblem, matchesGlob, GlobSyntaxError } from './glob.js';
export {
  collectGarbage,
  type GarbageCollectOptions,
  type RetentionOptions,
  type RetentionPolicy,
  type GcReport,
  type RepositoryGcReport,
  type RemovedBlob,
  type RemovedManifest,
} from './maintenance/gc.js';
export {
  scrubStorage,
  type ScrubOptions,
  type ScrubProgress,
  type ScrubProblem,
  type ScrubProblemKind,
  type ScrubReport,
  type RepositoryScrubReport,
} from './maintenance/scrub.js';
export { runPeriodically, type PeriodicTask, type PeriodicOptions } from './maintenance/schedule.js';
export { CorruptContentError } from './util/verifying-stream.js';
export { verifiedCertificateOf, goDistinguishedName, subjectAltNames } from './client-certificate.js';
