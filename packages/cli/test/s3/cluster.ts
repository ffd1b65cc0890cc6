/**
 * The S3 suites' object store: a throw-away Ceph cluster with a RADOS Gateway (scripts/ceph/), one per
 * test file, with one bucket. `driverConfig` is the `storage.storageDriver` section pointing at it.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../helpers/server.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface CephCluster {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  dir: string;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

interface CephModule {
  cephUnavailable(): string | undefined;
  startCeph(): Promise<CephCluster>;
}

async function cephModule(): Promise<CephModule> {
  return (await import(pathToFileURL(join(repoRoot, 'scripts/ceph/ceph.mjs')).href)) as CephModule;
}

/** Why these tests cannot run here (not root, Ceph not installed), or undefined. */
export async function cephUnavailable(): Promise<string | undefined> {
  return (await cephModule()).cephUnavailable();
}

export interface S3Fixture {
  cluster: CephCluster;
  bucket: string;
  /** `storage.storageDriver` for a server on this bucket (`rootdirectory` given or none). */
  driverConfig(rootdirectory?: string): Record<string, unknown>;
}

export async function startS3Fixture(): Promise<S3Fixture> {
  const cluster = await (await cephModule()).startCeph();
  const bucket = `zot-e2e-${randomBytes(4).toString('hex')}`;
  try {
    await cluster.createBucket(bucket);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return {
    cluster,
    bucket,
    driverConfig: (rootdirectory) => ({
      name: 's3',
      bucket,
      region: cluster.region,
      regionendpoint: cluster.endpoint,
      forcepathstyle: true,
      accesskey: cluster.accessKeyId,
      secretkey: cluster.secretAccessKey,
      ...(rootdirectory ? { rootdirectory } : {}),
    }),
  };
}
