/**
 * `@zotjs/core/testing`: the storage contract test kit, and the reference backend.
 *
 * Run the kit in your backend's own test suite to prove the backend keeps every rule of
 * {@link RegistryStorage} (not-found answers, repositories created on demand, atomic index
 * updates, upload sessions, ranges, mounts, deletes, repository isolation), that every optional
 * capability it lists behaves as documented, and that core's registry engine works on top of it.
 * Each test asks the factory for a fresh, empty storage and cleans it up afterwards.
 *
 * {@link MemoryStorage} is the reference backend: complete, commented, and proven by this kit.
 *
 * With node's test runner (the default):
 *
 * ```ts
 * // test/contract.test.ts
 * import { mkdtemp, rm } from 'node:fs/promises';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { runStorageContract } from '@zotjs/core/testing';
 * import { MyStorage } from '../src/index.js';
 *
 * runStorageContract('my-storage', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'my-storage-'));
 *   return {
 *     storage: new MyStorage({ dir }),
 *     openPeer: async () => new MyStorage({ dir }), // a second instance over the same data
 *     cleanup: () => rm(dir, { recursive: true, force: true }),
 *   };
 * }, { sharedStorage: true });
 * ```
 *
 * With vitest or mocha, pass their functions: `{ test: { describe, it } }`.
 * Set `sharedStorage` when several instances (processes, replicas) may share the backend's data:
 * the kit then checks through `openPeer` that they see one state and continue each other's uploads.
 */
import { describe, it } from 'node:test';
import { registerBlobCases } from './cases/blobs.js';
import { registerCapabilityCases } from './cases/capabilities.js';
import { registerRegistryCases } from './cases/registry-engine.js';
import { registerRepositoryCases } from './cases/repositories.js';
import { registerSharedCases } from './cases/shared.js';
import { registerUploadCases } from './cases/uploads.js';
import type { KitSettings, StorageContractOptions, StorageFactory, TestFunctions } from './types.js';

export type { StorageContractOptions, StorageFactory, StorageFixture, TestBody, TestFunctions } from './types.js';
export { MemoryStorage, type MemoryData, type MemoryRepository, type MemoryUpload } from './memory-storage.js';

const nodeTest: TestFunctions = { describe, it };

/**
 * Registers the contract's tests under `describe(name)`, each on a fresh storage from
 * `createStorage`. Call it at the top level of a test file.
 */
export function runStorageContract(name: string, createStorage: StorageFactory, options: StorageContractOptions = {}): void {
  const t = options.test ?? nodeTest;
  const settings: KitSettings = { sharedStorage: options.sharedStorage ?? false, concurrency: options.concurrency ?? 50 };
  t.describe(`${name}: RegistryStorage contract`, () => {
    // The storage's own rules, one group per concern, then the optional capabilities it lists.
    registerRepositoryCases(t, createStorage, settings);
    registerBlobCases(t, createStorage);
    registerUploadCases(t, createStorage);
    registerCapabilityCases(t, createStorage);
    if (settings.sharedStorage) registerSharedCases(t, createStorage, settings);
    // Core's registry engine running on the backend.
    registerRegistryCases(t, createStorage, settings);
  });
}
