// The contract kit run on the reference backend (core's in-memory MemoryStorage): proves the kit and the engine agree.
import { MemoryStorage, runStorageContract, type MemoryRepository } from '../src/testing/index.js';

runStorageContract(
  'MemoryStorage',
  async () => {
    const shared = new Map<string, MemoryRepository>();
    return { storage: new MemoryStorage(shared), openPeer: async () => new MemoryStorage(shared) };
  },
  { sharedStorage: true },
);
