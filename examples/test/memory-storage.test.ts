// Proves the example backend with the contract kit, exactly as a third-party backend would.
import { runStorageContract } from '@zotjs/core/testing';
import { MemoryStorage, type MemoryData } from '../memory-storage.js';

runStorageContract(
  'examples MemoryStorage',
  async () => {
    // Two instances over one map behave like two processes over one storage.
    const data: MemoryData = new Map();
    return { storage: new MemoryStorage(data), openPeer: async () => new MemoryStorage(data) };
  },
  { sharedStorage: true },
);
