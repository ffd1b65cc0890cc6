export { createExtensions, type Extensions, type ExtensionsOptions } from './extensions.js';
export { StorageHealth, healthRoutes, type StorageHealthOptions, type HealthState } from './health.js';
export { RegistryMetrics, metricsRoute, type MetricsOptions, type MetricsRouteOptions } from './metrics.js';
export { StorageUsage, type StorageUsageOptions, type StorageUsageSnapshot } from './storage-usage.js';
export type { StorageSource } from './storage-source.js';
export { docsRoutes, type DocsOptions } from './docs.js';
export { AuditLog, type AuditLogOptions, type AuditEntry } from './audit.js';
export { MUTATING_METHODS, type RequestRecord, type RequestObserver } from './record.js';
export { relayBetweenWorkers } from './cluster.js';
