/**
 * `@zotjs/auth/security`: what a server needs to build its security from a config (zot-cli's
 * path), without loading the token, single sign-on and API-key modules until a config asks for
 * them. Everything else is in the package's main entry.
 */
export { createSecurity, createSecurityFromConfig, type Security, type SecurityOptions } from './factory.js';
export { resolveSecurityConfig, summarizeSecurity, type SecurityConfig, type SecuritySummary } from './config.js';
export type { SecureContextTarget } from './tls.js';
