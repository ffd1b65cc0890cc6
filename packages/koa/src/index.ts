export { registryMiddleware, isRegistryPath, type AdapterOptions, type RegistryMiddlewareOptions } from './middleware.js';
export type { RequestRecord } from '@zotjs/core';
export { createRequestListener } from './request-listener.js';
export { createServer, ensureRootDirectory, type ServerConfig, type ServerTimeouts, type RegistryServer, type ListeningAddress } from './server.js';
export { toRegistryRequest, applyResponse, flattenHeaders, clientCertificateOf } from './translate.js';
