/**
 * The zot config file, as one declarative description: every key zot-ts accepts, its type and
 * what it means. `zot-cli verify` checks a file against it and the `ZotConfig` type is inferred
 * from it. To support a new setting, add its key here (and read it where it is used).
 *
 * Key names and shapes follow zot's config (https://zotregistry.dev/ "Configuration"), so a zot
 * config file works as it is, minus the features zot-ts does not implement (those are refused
 * with their path rather than silently ignored).
 */
import { securityNode, withSecurityChecks } from '../security.js';
import { boolean, duration, integer, object, oneOf, port, string, type Infer } from './schema-kit.js';
import { limitsSchema, retentionSchema, scrubSchema } from './maintenance-schema.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

// zot's remote storage (distribution's s3 driver keys); with it, repositories live in the bucket.
export const storageDriverSchema = object(
  {
    name: oneOf(['s3'] as const, { description: 'the storage driver: "s3" (any S3-compatible object store)' }),
    bucket: string({ nonEmpty: true, description: 'bucket holding the repositories' }),
    region: string({ nonEmpty: true, description: 'region (Ceph RGW: its zonegroup, usually "default"); default us-east-1' }),
    regionendpoint: string({ nonEmpty: true, description: 'endpoint of an S3-compatible store, e.g. http://127.0.0.1:7480 (absent for AWS)' }),
    forcepathstyle: boolean({ description: 'address buckets as endpoint/bucket (most non-AWS stores need it)' }),
    rootdirectory: string({ description: 'key prefix all objects live under' }),
    accesskey: string({ nonEmpty: true, description: 'access key (default: AWS_ACCESS_KEY_ID and the AWS SDK credential chain)' }),
    secretkey: string({ nonEmpty: true, description: 'secret key (default: AWS_SECRET_ACCESS_KEY)' }),
    sessiontoken: string({ nonEmpty: true, description: 'session token of temporary credentials' }),
    secure: boolean({ description: 'https when regionendpoint has no scheme (default true)' }),
    chunksize: integer({ min: 5 * 1024 * 1024, description: 'multipart upload part size in bytes (default 10 MiB; one part is buffered per upload)' }),
    multipartcopychunksize: integer({ min: 5 * 1024 * 1024, max: 5 * 1024 * 1024 * 1024, description: 'objects larger than this are copied part by part (default 5 GiB)' }),
    redirect: boolean({ description: 'answer blob pulls with a 307 redirect to a presigned URL on the store (clients must reach it); default false' }),
    redirectexpiry: integer({ min: 1, max: 7 * 24 * 3600, description: 'how long those presigned URLs stay valid, in seconds (default 1200)' }),
  },
  { required: ['name', 'bucket'], description: 'store repositories in an object store instead of rootDirectory (several replicas may share it)' },
);

export const storageSchema = object({
  rootDirectory: string({ nonEmpty: true, description: 'where repositories are stored, one OCI image layout each' }),
  storageDriver: storageDriverSchema,
  dedupe: boolean({ description: 'store identical blobs once across repositories (hard links; default true)' }),
  indexCacheMs: integer({
    min: 0,
    max: 60000,
    description:
      'with watch off: trust the cached index.json of a repository this many ms before checking the file again (default 0: every read checks). Writes of this server are seen at once; another process\'s (zot-cli gc) within the window',
  }),
  watch: boolean({
    description:
      'trust cached index.json files and blob sizes while an inotify watch of their folder reports no change, so manifest GETs and blob HEADs need no stat (default true). Turn off on network filesystems, where other hosts\' changes raise no events',
  }),
  gc: boolean({ description: 'garbage-collect unreferenced blobs, untagged manifests and abandoned uploads in the background (default true)' }),
  gcDelay: duration({ description: 'how old an unreferenced blob must be before gc removes it (default 1h)' }),
  gcInterval: duration({ description: 'how often gc runs (default 1h)' }),
  retention: retentionSchema,
  verifyBlobReads: boolean({ description: 're-hash every whole-blob read while it streams; a corrupt blob is never served whole (default true)' }),
});

// tls, auth and accessControl are checked in full by @zotjs/auth (see ../security.ts).
export const httpSchema = withSecurityChecks(
  object({
    address: string({ nonEmpty: true, description: 'listen address, e.g. 127.0.0.1 or 0.0.0.0' }),
    port: port({ description: 'listen port' }),
    realm: string({ description: 'realm announced in WWW-Authenticate' }),
    swagger: boolean({ description: 'serve the OpenAPI document (/openapi.json, /openapi.yaml) and Swagger UI (/swagger/); default true' }),
    workers: integer({
      min: 0,
      max: 64,
      description:
        'serving processes sharing the port (default 1; 0: one per CPU core). More use more cores for request-heavy loads, each with its own memory',
    }),
    tls: securityNode('tls'),
    auth: securityNode('auth'),
    accessControl: securityNode('accessControl'),
    limits: limitsSchema,
  }),
);

export const logSchema = object({
  level: oneOf(LOG_LEVELS, { description: 'least severe level written' }),
  output: string({ nonEmpty: true, description: 'log file path (default: standard output)' }),
  audit: string({ nonEmpty: true, description: 'audit log file: one JSON line per mutating request (who, what, repository, digest, result)' }),
});

export const extensionsSchema = object({
  metrics: object(
    {
      enable: boolean({ description: 'serve Prometheus metrics (default true once this section is present)' }),
      prometheus: object({
        path: string({ pattern: /^\/[A-Za-z0-9._~\/-]*$/, patternHint: 'a path such as "/metrics"', description: 'scrape path (default /metrics)' }),
      }),
    },
    { description: 'request counts and latency by route, bytes pushed and pulled, repositories, storage, process' },
  ),
  scrub: scrubSchema,
});

export const configSchema = object({
  distSpecVersion: string({
    pattern: /^\d+\.\d+\.\d+(?:-[\w.-]+)?$/,
    patternHint: 'a version such as "1.1.0"',
    description: 'distribution-spec version the registry reports',
  }),
  storage: storageSchema,
  http: httpSchema,
  log: logSchema,
  extensions: extensionsSchema,
});

/** A config file that passed {@link configSchema}. */
export type ZotConfig = Infer<typeof configSchema>;
