export * from './config.js';
export { createSecurity, createSecurityFromConfig, type Security, type SecurityOptions } from './factory.js';
export { parseBasicAuthorization, type BasicAuthParse, type BasicCredentials } from './basic-auth.js';
export { classifyHash, verifyPassword, type HashKind, type PasswordHash } from './htpasswd/hashes.js';
export { HtpasswdFile, parseHtpasswd, type HtpasswdFileOptions, type HtpasswdParseResult } from './htpasswd/file.js';
export { CredentialCache, type CredentialCacheOptions } from './credential-cache.js';
export { FailureLimiter, normalizeAddress, type FailureLimiterOptions, type AttemptPermit } from './failure-limiter.js';
export { PasswordAuthenticator, basicChallenge, type PasswordAuthenticatorOptions } from './password-authenticator.js';
export { BackendUnavailableError, type PasswordVerifier, type VerifyOutcome } from './verifier.js';
export { LdapVerifier, type LdapVerifierOptions, type LdapTransport } from './ldap/verifier.js';
export { escapeFilterValue, userSearchFilter } from './ldap/escape.js';
export {
  MtlsAuthenticator,
  CertificateIdentity,
  identityFromCertificate,
  verifiedClientCertificate,
  type IdentityAttribute,
  type CertificateIdentityOptions,
} from './mtls.js';
export { CertificateOrPasswordAuthenticator } from './composite.js';
export { AccessControlAuthorizer, AuthenticatedOnlyAuthorizer, type AccessControlOptions } from './policy/access-control.js';
export { TlsMaterial, type TlsMaterialOptions, type SecureContextTarget } from './tls.js';
export { AuthenticatorChain } from './chain.js';
export { BearerAuthenticator, type BearerAuthenticatorOptions } from './bearer/authenticator.js';
export {
  AccessTokenVerifier,
  InvalidTokenError,
  ASYMMETRIC_ALGORITHMS,
  type AccessTokenVerifierOptions,
  type VerifiedAccessToken,
} from './bearer/verifier.js';
export {
  PublicKeyFile,
  CombinedKeySource,
  keyIds,
  libtrustKeyId,
  publicKeysFromPem,
  type VerificationKey,
  type VerificationKeySource,
  type PublicKeyFileOptions,
} from './bearer/keys.js';
export { OidcWorkloadVerifier, type OidcWorkloadOptions, type WorkloadIdentity } from './bearer/oidc-workload.js';
export { ClaimMapper, ClaimMappingError, DEFAULT_USERNAME_EXPRESSION, type ClaimMappingConfig } from './bearer/claim-mapping.js';
export {
  parseScopes,
  formatScope,
  requiredScope,
  tokenActionFor,
  actionsOfTokenAction,
  TokenAccess,
  CATALOG_SCOPE,
  type ResourceScope,
  type AccessEntry,
} from './bearer/scope.js';
export { SigningKeySet, algorithmFor, type SigningKey, type SigningKeySetOptions } from './token-service/signing-keys.js';
export {
  TokenService,
  InvalidGrantError,
  type TokenServiceOptions,
  type TokenRequest,
  type TokenResponse,
} from './token-service/service.js';
export { tokenRoutes, TOKEN_PATH, type TokenRoutesOptions, type ApiKeyBackedIdentity } from './token-service/routes.js';
export {
  ApiKeyService,
  ApiKeyScopes,
  ApiKeyRequestError,
  hashApiKey,
  API_KEY_PREFIX,
  type ApiKeyDetails,
  type ApiKeyRequest,
  type ApiKeyServiceOptions,
  type ApiKeyCheck,
} from './apikey/service.js';
export { LocalApiKeyStore, RedisApiKeyStore, type ApiKeyStore, type ApiKeyRecord, type RedisStoreOptions } from './apikey/store.js';
export { ApiKeyAuthenticator, type ApiKeyAuthenticatorOptions } from './apikey/authenticator.js';
export { apiKeyRoutes, API_KEY_PATH, type ApiKeyRoutesOptions } from './apikey/routes.js';
export { LocalSessionStore, RedisSessionStore, type SessionStore, type SessionData } from './session/store.js';
export {
  CookieSealer,
  readSessionKeysFile,
  randomSessionKeys,
  cookieValue,
  setCookie,
  type SessionKeys,
  type CookieAttributes,
} from './session/cookie.js';
export {
  SessionManager,
  SessionAuthenticator,
  BrowserLoginAuthenticator,
  SESSION_COOKIE,
  USER_COOKIE,
  SESSION_CLIENT_HEADER,
  type SessionManagerOptions,
} from './session/manager.js';
export {
  OpenIdProvider,
  LoginRefusedError,
  type OpenIdProviderOptions,
  type ProviderKind,
  type PendingLogin,
  type ProviderUser,
} from './oidc/provider.js';
export { openIdRoutes, LOGIN_PATH, CALLBACK_BASE_PATH, LOGOUT_PATH, type OpenIdRoutesOptions } from './oidc/routes.js';
export { readBody, readForm, readJson, jsonResponse, MAX_FORM_BYTES, MAX_JSON_BYTES } from './http/body.js';
export { DEFAULT_CIPHERS } from './tls.js';
