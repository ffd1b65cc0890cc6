// The contract kit run on core's in-memory test backend: proves the kit and the engine agree.
import { runStorageContract } from '../src/testing/index.js';
import { MemoryStorage, type MemoryRepository } from './support/memory-storage.js';

runStorageContract(
  'core test MemoryStorage',
  async () => {
    const shared = new Map<string, MemoryRepository>();
    return { storage: new MemoryStorage(shared), openPeer: async () => new MemoryStorage(shared) };
  },
  { sharedStorage: true },
);
