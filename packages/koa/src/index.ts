export { registryMiddleware, isRegistryPath, type AdapterOptions, type RegistryMiddlewareOptions } from './middleware.js';
export { toRegistryRequest, applyResponse } from './translate.js';
export type { RequestRecord } from '@zotjs/core';
