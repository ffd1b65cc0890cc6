import { RegistryError } from '@zotjs/core';

/** What {@link S3Storage} needs to reach its bucket. */
export interface S3StorageOptions {
  bucket: string;
  /** AWS region, or any name the store accepts (Ceph RGW: its zonegroup, usually `default`). Default `us-east-1`. */
  region?: string;
  /** Endpoint of an S3-compatible store (`http://127.0.0.1:7480`); absent for AWS S3 itself. */
  endpoint?: string;
  /** Address buckets as `endpoint/bucket/key` rather than `bucket.endpoint/key` (needed by most non-AWS stores). */
  forcePathStyle?: boolean;
  /** Key prefix every object of the registry lives under (zot's `rootdirectory`); default none. */
  rootDirectory?: string;
  /**
   * Static credentials. Without them the AWS SDK's default chain applies: the `AWS_ACCESS_KEY_ID` /
   * `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` environment variables, shared config files, instance roles.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * Size of one multipart-upload part (zot's `chunksize`), default 10 MiB, at least 5 MiB (S3's minimum).
   * An upload session buffers at most one part in memory while it appends.
   */
  partSize?: number;
  /** Objects larger than this are copied (commit, mount) part by part; default and maximum 5 GiB (S3's CopyObject limit). */
  copyPartSize?: number;
  /**
   * Answer blob pulls with a redirect to a presigned GET URL on the store instead of streaming the bytes
   * through the registry (default false). Clients must then reach the store's endpoint themselves.
   */
  redirect?: boolean;
  /** How long a presigned blob URL stays valid, in seconds (default 1200: 20 minutes; at most 7 days). */
  redirectExpiry?: number;
  /** Called with problems worth an operator's attention (the store ignores conditional writes, ...). */
  onWarning?: (message: string, details?: Record<string, unknown>) => void;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 10 * 1024 * 1024;
export const MAX_COPY_SIZE = 5 * 1024 * 1024 * 1024;
export const DEFAULT_REDIRECT_EXPIRY = 20 * 60;
/** SigV4 presigned URLs live at most a week. */
export const MAX_REDIRECT_EXPIRY = 7 * 24 * 3600;

/**
 * zot's `storage.storageDriver` section for S3 (the keys of distribution's s3 driver that apply here). Values may be strings, as YAML and environment-driven configs often make them.
 */
export interface S3DriverConfig {
  name: 's3';
  bucket: string;
  region?: string;
  regionendpoint?: string;
  forcepathstyle?: boolean | string;
  rootdirectory?: string;
  accesskey?: string;
  secretkey?: string;
  sessiontoken?: string;
  /** Used when `regionendpoint` has no scheme: https unless false. */
  secure?: boolean | string;
  chunksize?: number | string;
  multipartcopychunksize?: number | string;
  /** Blob pulls answered with a redirect to a presigned URL on the store. */
  redirect?: boolean | string;
  /** Lifetime of those URLs in seconds (default 1200). */
  redirectexpiry?: number | string;
}

/** Every key {@link S3DriverConfig} accepts, for config validation. */
export const S3_DRIVER_KEYS = [
  'name',
  'bucket',
  'region',
  'regionendpoint',
  'forcepathstyle',
  'rootdirectory',
  'accesskey',
  'secretkey',
  'sessiontoken',
  'secure',
  'chunksize',
  'multipartcopychunksize',
  'redirect',
  'redirectexpiry',
] as const;

/**
 * Turns zot's `storageDriver` section into {@link S3StorageOptions}. Credentials given in the file win;
 * otherwise the AWS SDK reads the standard environment variables (`AWS_ACCESS_KEY_ID`, ...).
 * Throws a plain Error naming the key at fault.
 */
export function optionsFromDriverConfig(config: Record<string, unknown>): S3StorageOptions {
  for (const key of Object.keys(config)) {
    if (!(S3_DRIVER_KEYS as readonly string[]).includes(key)) throw new Error(`storageDriver.${key}: unknown key for the s3 driver`);
  }
  if (config.name !== 's3') throw new Error(`storageDriver.name: expected "s3", got ${JSON.stringify(config.name)}`);
  const bucket = text(config, 'bucket');
  if (!bucket) throw new Error('storageDriver.bucket: required');
  const options: S3StorageOptions = { bucket };
  const region = text(config, 'region');
  if (region) options.region = region;
  const endpoint = text(config, 'regionendpoint');
  if (endpoint) {
    const secure = flag(config, 'secure') ?? true;
    options.endpoint = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `${secure ? 'https' : 'http'}://${endpoint}`;
  }
  const pathStyle = flag(config, 'forcepathstyle');
  if (pathStyle !== undefined) options.forcePathStyle = pathStyle;
  const root = text(config, 'rootdirectory');
  if (root) options.rootDirectory = root;
  const accessKeyId = text(config, 'accesskey');
  const secretAccessKey = text(config, 'secretkey');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new Error('storageDriver.accesskey and storageDriver.secretkey: give both or neither');
  }
  if (accessKeyId && secretAccessKey) {
    const sessionToken = text(config, 'sessiontoken');
    options.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  const partSize = integer(config, 'chunksize');
  if (partSize !== undefined) {
    if (partSize < MIN_PART_SIZE) throw new Error(`storageDriver.chunksize: at least ${MIN_PART_SIZE} (S3's minimum part size)`);
    options.partSize = partSize;
  }
  const copyPartSize = integer(config, 'multipartcopychunksize');
  if (copyPartSize !== undefined) {
    if (copyPartSize < MIN_PART_SIZE || copyPartSize > MAX_COPY_SIZE) {
      throw new Error(`storageDriver.multipartcopychunksize: between ${MIN_PART_SIZE} and ${MAX_COPY_SIZE}`);
    }
    options.copyPartSize = copyPartSize;
  }
  const redirect = flag(config, 'redirect');
  if (redirect !== undefined) options.redirect = redirect;
  const expiry = integer(config, 'redirectexpiry', 'seconds');
  if (expiry !== undefined) {
    if (expiry > MAX_REDIRECT_EXPIRY) throw new Error(`storageDriver.redirectexpiry: at most ${MAX_REDIRECT_EXPIRY} seconds (7 days)`);
    options.redirectExpiry = expiry;
  }
  return options;
}

function text(config: Record<string, unknown>, key: string): string | undefined {
  const value = config[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`storageDriver.${key}: expected a string`);
  return value;
}

function flag(config: Record<string, unknown>, key: string): boolean | undefined {
  const value = config[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`storageDriver.${key}: expected true or false`);
}

function integer(config: Record<string, unknown>, key: string, unit = 'bytes'): number | undefined {
  const value = config[key];
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`storageDriver.${key}: expected a positive whole number of ${unit}`);
  return n;
}

/** A repository name the key layout cannot hold (it would land inside another repository's own entries). */
export function nameInvalid(repository: string): RegistryError {
  return new RegistryError('NAME_INVALID', 'repository name uses a reserved path component', { detail: { name: repository } });
}
