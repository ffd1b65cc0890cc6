// How a backend proves itself, exactly as a third-party one would: the contract kit on the
// reference backend, MemoryStorage from @zotjs/core/testing (read it to learn how to write one).
import { MemoryStorage, runStorageContract, type MemoryData } from '@zotjs/core/testing';

runStorageContract(
  'MemoryStorage (reference backend, from an application)',
  async () => {
    // Two instances over one map behave like two processes over one storage.
    const data: MemoryData = new Map();
    return { storage: new MemoryStorage(data), openPeer: async () => new MemoryStorage(data) };
  },
  { sharedStorage: true },
);
