export { registryMiddleware, isRegistryPath, type AdapterOptions, type RegistryMiddlewareOptions } from './middleware.js';
export type { RequestRecord } from './exchange.js';
export { createRequestListener } from './request-listener.js';
export { createServer, ensureRootDirectory, type ServerConfig, type ServerTimeouts, type RegistryServer, type ListeningAddress } from './server.js';
export { toRegistryRequest, applyResponse, flattenHeaders, clientCertificateOf } from './translate.js';
