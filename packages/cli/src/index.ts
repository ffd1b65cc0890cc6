export { main, type MainIo } from './main.js';
export { configSchema, storageSchema, httpSchema, logSchema, LOG_LEVELS, type ZotConfig } from './config/schema.js';
export * as schema from './config/schema-kit.js';
export { loadConfigFile, parseConfig, ConfigError, type LoadedConfig } from './config/load.js';
export { resolveSettings, type Settings } from './config/settings.js';
export { EMBEDDED_DEFAULT_CONFIG } from './config/defaults.js';
export { buildServer, serve, type ServeOptions } from './serve.js';
export { createLogger } from './logger.js';
