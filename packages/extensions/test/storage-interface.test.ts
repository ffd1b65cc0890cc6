// Health and the storage gauges go through the storage interface only: a backend answers with its
// capabilities, and one without them gets the fallbacks (a required read for health, no gauges).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRegistryHandler, Registry, type HealthProbe, type RepositoryIndex, type StorageCapabilities } from '@zotjs/core';
import { MemoryStorage } from '@zotjs/core/testing';
import { createExtensions, StorageHealth } from '../src/index.js';
import { pushImage, send } from './support/registry.js';

/** The reference backend with no optional capability at all. */
class PlainStorage extends MemoryStorage {
  override readonly capabilities: StorageCapabilities = {};
  failure: Error | undefined;
  reads = 0;

  override async readIndex(repository: string): Promise<RepositoryIndex | undefined> {
    this.reads++;
    if (this.failure) throw this.failure;
    return super.readIndex(repository);
  }
}

/** A backend whose own probe fails, with a message that names a path. */
class ProbedStorage extends MemoryStorage implements HealthProbe {
  override readonly capabilities: StorageCapabilities = { health: this, usage: this };
  failure: Error | undefined;
  probes = 0;

  async probe(): Promise<void> {
    this.probes++;
    if (this.failure) throw this.failure;
  }
}

const failure = (code: string, message: string): Error => Object.assign(new Error(message), { code });

describe('extensions over the storage interface', () => {
  it('a storage without the health capability is checked with a read; its failure shows as its code', async () => {
    const storage = new PlainStorage();
    const health = new StorageHealth({ storage, intervalMs: 60_000 });
    try {
      await health.start();
      assert.deepEqual([health.state.ok, health.started], [true, true]);
      assert.equal(storage.reads, 1, 'one read per check');
      storage.failure = failure('ECONNRESET', 'connect to /var/secret/socket failed');
      await health.check();
      assert.deepEqual([health.state.ok, health.state.reason], [false, 'ECONNRESET']);
      storage.failure = new Error('no code, a path: /var/secret');
      await health.check();
      assert.equal(health.state.reason, 'error', 'a message is never shown');
      storage.failure = undefined;
      await health.check();
      assert.equal(health.state.ok, true);
    } finally {
      health.stop();
    }
  });

  it('a storage with the health capability answers for itself', async () => {
    const storage = new ProbedStorage();
    const health = new StorageHealth({ storage, intervalMs: 60_000 });
    try {
      await health.start();
      assert.equal(health.state.ok, true);
      storage.failure = failure('NoSuchBucket', 'bucket s3://secret-name is gone');
      await health.check();
      assert.deepEqual([health.state.ok, health.state.reason], [false, 'NoSuchBucket']);
      assert.equal(storage.probes, 2);
    } finally {
      health.stop();
    }
  });

  it('without the usage capability the storage gauges are absent; with it they count', async () => {
    for (const [storage, gauges] of [
      [new PlainStorage(), false],
      [new ProbedStorage(), true],
    ] as const) {
      const handler = createRegistryHandler({ registry: new Registry({ storage }) });
      await pushImage(handler, 'team/app', 'v1', 5000);
      const ext = createExtensions({ storage, version: '1', metrics: { enable: true }, healthIntervalMs: 60_000 });
      try {
        await ext.start();
        await ext.usage.start();
        assert.equal(await ext.usage.supported, gauges);
        const scrape = await send(
          createRegistryHandler({ registry: new Registry({ storage }), extraRoutes: ext.routes }),
          'GET',
          '/metrics',
        );
        const text = scrape.body.toString();
        assert.equal(
          text.includes('zot_storage_bytes'),
          gauges,
          `${storage.constructor.name}: storage gauges ${gauges ? 'present' : 'absent'}`,
        );
        assert.equal(text.includes('zot_repositories '), gauges);
        if (gauges) assert.match(text, /^zot_repositories 1$/m);
        assert.match(text, /^zot_http_requests_total|^# HELP zot_http_requests_total/m, 'the other metrics are there either way');
        assert.deepEqual(ext.health.state.ok, true);
      } finally {
        ext.close();
      }
    }
  });

  it('waits for a storage still being opened, and a storage that cannot be opened stops the start', async () => {
    let open!: (storage: MemoryStorage) => void;
    const opening = new Promise<MemoryStorage>((resolve) => (open = resolve));
    const ext = createExtensions({ storage: opening, version: '1', healthIntervalMs: 60_000 });
    const started = ext.start();
    assert.equal(ext.health.started, false);
    open(new MemoryStorage());
    await started;
    assert.equal(ext.health.state.ok, true);
    ext.close();

    const broken = createExtensions({ storage: Promise.reject(new Error('storageDriver.bucket: required')), version: '1' });
    await assert.rejects(broken.start(), /storageDriver\.bucket: required/);
    assert.equal(await broken.usage.supported, false);
    broken.close();
  });
});
