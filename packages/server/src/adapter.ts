// `@zotjs/server/adapter`: the pieces a framework adapter (such as `@zotjs/koa`) builds on, so
// every way of serving the registry does the same work around the core handler.
export { exchangeServer, nodeWriter, type Exchange, type ExchangeOptions, type ExchangeServer, type ResponseWriter } from './exchange.js';
export { registryRequestOf, flattenHeaders, clientCertificateOf, writeDirectly } from './translate.js';
export { BodyBufferReclaimer, GcNotExposedError, DEFAULT_RECLAIM_EVERY_BYTES, type CollectGarbage } from './body-buffer-reclaimer.js';
