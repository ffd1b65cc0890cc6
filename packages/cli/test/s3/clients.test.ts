/**
 * The skopeo and podman/buildah end-to-end suites (test/e2e/) run unchanged with every `zot-cli serve`
 * storing in an S3 bucket on a real Ceph RADOS Gateway: the same pushes, pulls, mounts, deletes and
 * multi-arch images, with S3 multipart uploads, server-side copies and conditional index writes underneath.
 */
import { after } from 'node:test';
import { cephUnavailable, startS3Fixture, type S3Fixture } from './cluster.js';

const unavailable = await cephUnavailable();
if (unavailable) {
  const { describe } = await import('node:test');
  describe('skopeo and podman on S3 (Ceph RGW)', { skip: unavailable }, () => undefined);
} else {
  let fixture: S3Fixture | undefined;
  // Started here, before the suites below register, so their servers get the storage driver.
  fixture = await startS3Fixture();
  process.env.ZOT_TEST_STORAGE_DRIVER = JSON.stringify(fixture.driverConfig('e2e'));
  after(async () => {
    await fixture?.cluster.stop();
    fixture = undefined;
  });
  await import('../e2e/skopeo.test.js');
  await import('../e2e/podman-buildah.test.js');
}
