export { registryMiddleware, isRegistryPath, type AdapterOptions, type RegistryMiddlewareOptions, type RequestRecord } from './middleware.js';
export { createServer, ensureRootDirectory, type ServerConfig, type ServerTimeouts, type RegistryServer, type ListeningAddress } from './server.js';
export { toRegistryRequest, applyResponse, flattenHeaders, clientCertificateOf } from './translate.js';
