// Node wrapper around start.sh/stop.sh for tests and benchmarks: starts a throw-away Ceph cluster with an
// S3 endpoint and gives back how to reach it and how to stop it (exactly the daemons it started).
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEnvFile, s3Request } from './s3-request.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const started = new Set();

/** Why a Ceph cluster cannot be started here (not root, packages missing), or undefined when it can. */
export function cephUnavailable() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'Ceph test cluster needs root';
  for (const tool of ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) {
      return `${tool} not installed (apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common)`;
    }
  }
  return undefined;
}

/**
 * Starts a cluster in a new temp folder (about 8 s). Resolves to
 * `{ endpoint, region, accessKeyId, secretAccessKey, dir, createBucket(name), stop() }`.
 */
export function startCeph({ dir = mkdtempSync(join(tmpdir(), 'zot-ceph-')) } = {}) {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(here, 'start.sh'), dir], { maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) {
        spawnSync('bash', [join(here, 'stop.sh'), '--keep', dir], { stdio: 'ignore' });
        reject(new Error(`scripts/ceph/start.sh failed (logs kept in ${dir}):\n${stderr}`));
        return;
      }
      const env = readEnvFile(join(dir, 's3.env'));
      let stopping;
      const cluster = {
        endpoint: env.S3_ENDPOINT,
        region: env.S3_REGION,
        accessKeyId: env.S3_ACCESS_KEY,
        secretAccessKey: env.S3_SECRET_KEY,
        dir,
        /** Creates a bucket (path style). */
        createBucket: (name) => s3Request(env, 'PUT', `/${name}`),
        stop({ keep = process.env.ZOT_TEST_KEEP === '1' } = {}) {
          stopping ??= new Promise((done) => {
            started.delete(cluster);
            execFile('bash', [join(here, 'stop.sh'), ...(keep ? ['--keep'] : []), dir], () => done());
          });
          return stopping;
        },
      };
      started.add(cluster);
      resolve(cluster);
    });
  });
}

// A test process that ends without calling stop() (a crash, a failed before-hook) still stops its daemons.
process.once('exit', () => {
  for (const cluster of started) spawnSync('bash', [join(here, 'stop.sh'), cluster.dir], { stdio: 'ignore' });
});
