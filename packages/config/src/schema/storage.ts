/** `storage`: where and how repositories are stored, and their garbage collection. */
import { globSyntaxProblem } from '@zotjs/core';
import type { z } from 'zod';
import { duration, flag, integer, list, oneOf, regex, section, text, withTraits } from './kit.js';

export const STORAGE_DEFAULTS = {
  rootDirectory: './zot-data',
  dedupe: true,
  indexCacheMs: 0,
  watch: true,
  gc: true,
  gcDelay: '1h',
  gcInterval: '1h',
  verifyBlobReads: true,
} as const;

export const RETENTION_DEFAULTS = { delay: '24h', deleteReferrers: false, deleteUntagged: true } as const;

const MiB = 1024 * 1024;

// zot's remote storage (distribution's s3 driver keys); with it, repositories live in the bucket.
export const storageDriverSchema = section(
  {
    name: oneOf(['s3'], { description: 'the storage driver: "s3" (any S3-compatible object store)' }),
    bucket: text({ nonEmpty: true, description: 'bucket holding the repositories' }),
    region: text({ nonEmpty: true, default: 'us-east-1', description: 'region (Ceph RGW: its zonegroup, usually "default")' }),
    regionendpoint: text({
      nonEmpty: true,
      description: 'endpoint of an S3-compatible store, e.g. http://127.0.0.1:7480 (absent for AWS)',
    }),
    forcepathstyle: flag({ description: 'address buckets as endpoint/bucket (most non-AWS stores need it)' }),
    rootdirectory: text({ description: 'key prefix all objects live under' }),
    accesskey: text({ nonEmpty: true, description: 'access key (default: AWS_ACCESS_KEY_ID and the AWS SDK credential chain)' }),
    secretkey: text({ nonEmpty: true, secret: true, description: 'secret key (default: AWS_SECRET_ACCESS_KEY)' }),
    sessiontoken: text({ nonEmpty: true, secret: true, description: 'session token of temporary credentials' }),
    secure: flag({ default: true, description: 'https when regionendpoint has no scheme' }),
    chunksize: integer({
      min: 5 * MiB,
      default: 10 * MiB,
      description: 'multipart upload part size in bytes (one part is buffered per upload)',
    }),
    multipartcopychunksize: integer({
      min: 5 * MiB,
      max: 5 * 1024 * MiB,
      default: 5 * 1024 * MiB,
      description: 'objects larger than this are copied part by part',
    }),
    redirect: flag({
      default: false,
      description: 'answer blob pulls with a 307 redirect to a presigned URL on the store (clients must reach it)',
    }),
    redirectexpiry: integer({
      min: 1,
      max: 7 * 24 * 3600,
      default: 1200,
      description: 'how long those presigned URLs stay valid, in seconds',
    }),
  },
  {
    required: ['name', 'bucket'],
    description: 'store repositories in an object store instead of rootDirectory (several replicas may share it)',
  },
).superRefine(
  (driver, ctx) => {
    if (typeof driver !== 'object' || driver === null) return;
    if ((driver.accesskey === undefined) !== (driver.secretkey === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [driver.accesskey === undefined ? 'accesskey' : 'secretkey'],
        message: 'accesskey and secretkey go together: give both or neither',
      });
    }
  },
  { when: () => true },
);

const repositoryGlob = text({ nonEmpty: true }).superRefine((pattern, ctx) => {
  const problem = globSyntaxProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: `invalid repository glob "${pattern}": ${problem}` });
});

export const retentionSchema = section(
  {
    dryRun: flag({ default: false, description: 'log what retention would remove, remove nothing' }),
    delay: duration({
      default: RETENTION_DEFAULTS.delay,
      description: 'how old an untagged manifest or orphaned referrer must be before gc removes it',
    }),
    policies: list(
      section(
        {
          repositories: list(repositoryGlob, { description: 'repository globs the policy applies to ("**", "team/*", "{dev,prod}/**")' }),
          deleteReferrers: flag({ default: RETENTION_DEFAULTS.deleteReferrers, description: 'remove referrers whose subject is gone' }),
          deleteUntagged: flag({
            default: RETENTION_DEFAULTS.deleteUntagged,
            description: 'remove untagged manifests no index references',
          }),
          keepTags: list(
            section(
              { patterns: list(regex(), { description: 'regular expressions; tags matching one are kept' }) },
              { required: ['patterns'] },
            ),
            {
              description: 'when present, tags matching none of the patterns are removed',
            },
          ),
        },
        { required: ['repositories'] },
      ),
      { description: 'per-repository retention; the first policy matching a repository applies' },
    ),
  },
  { description: 'which manifests and tags gc removes (zot semantics)' },
);

export const storageSchema = withTraits(
  section(
    {
      rootDirectory: text({
        nonEmpty: true,
        default: STORAGE_DEFAULTS.rootDirectory,
        description: 'where repositories are stored, one OCI image layout each',
      }),
      storageDriver: storageDriverSchema,
      dedupe: flag({ default: STORAGE_DEFAULTS.dedupe, description: 'store identical blobs once across repositories (hard links)' }),
      indexCacheMs: integer({
        min: 0,
        max: 60000,
        default: STORAGE_DEFAULTS.indexCacheMs,
        description:
          "with watch off: trust the cached index.json of a repository this many ms before checking the file again (0: every read checks). Writes of this server are seen at once; another process's (zot-cli gc) within the window",
      }),
      watch: flag({
        default: STORAGE_DEFAULTS.watch,
        description:
          "trust cached index.json files and blob sizes while an inotify watch of their folder reports no change, so manifest GETs and blob HEADs need no stat. Turn off on network filesystems, where other hosts' changes raise no events",
      }),
      gc: flag({
        default: STORAGE_DEFAULTS.gc,
        description: 'garbage-collect unreferenced blobs, untagged manifests and abandoned uploads in the background',
      }),
      gcDelay: duration({ default: STORAGE_DEFAULTS.gcDelay, description: 'how old an unreferenced blob must be before gc removes it' }),
      gcInterval: duration({ default: STORAGE_DEFAULTS.gcInterval, description: 'how often gc runs' }),
      retention: retentionSchema,
      verifyBlobReads: flag({
        default: STORAGE_DEFAULTS.verifyBlobReads,
        description: 're-hash every whole-blob read while it streams; a corrupt blob is never served whole',
      }),
    },
    { description: 'where and how repositories are stored' },
  ),
  // Case-sensitive for now: a test pins that `storage.rootdirectory` is refused with a suggestion.
  // zot reads every key case-insensitively; dropping this trait makes this section do so too.
  { exactCase: true },
);

export type StorageConfig = z.output<typeof storageSchema>;
export type StorageDriverConfig = z.output<typeof storageDriverSchema>;
export type RetentionConfig = z.output<typeof retentionSchema>;
