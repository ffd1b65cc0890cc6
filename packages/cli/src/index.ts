export { main, type MainIo } from './main.js';
// The config file's schema, loading and validation live in @zotjs/config; these are re-exported for convenience.
export { loadConfigFile, parseConfig, ConfigError, configJsonSchema, type LoadedConfig, type ZotConfig } from '@zotjs/config';
export { resolveSettings, type Settings } from './config/settings.js';
export { EMBEDDED_DEFAULT_CONFIG } from './config/defaults.js';
export { buildServer, serve, type ServeOptions } from './serve.js';
export { createLogger } from './logger.js';
