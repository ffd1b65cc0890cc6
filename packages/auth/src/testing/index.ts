/** Test helpers (real openssl certificates, a real slapd, real htpasswd files), for this package's tests and embedders'. */
export { generateCertificates, issueCertificate, type CertificatePair, type TestCertificates } from './certs.js';
export {
  startSlapd,
  slapdAvailable,
  freePort,
  type SlapdOptions,
  type SlapdServer,
  type LdapTestUser,
  type LdapTestGroup,
} from './slapd.js';
export { htpasswdSet, htpasswdDelete, htpasswdAvailable, type HtpasswdFormat } from './htpasswd.js';
export { run } from './run.js';
export { startRedis, redisAvailable, type RedisServer } from './redis.js';
