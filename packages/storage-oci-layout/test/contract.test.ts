import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStorageContract } from '@zotjs/core/testing';
import { OciLayoutStorage } from '../src/index.js';

// The OCI-layout backend proves itself with the same kit third-party backends run. Two instances
// over one folder stand for two processes sharing the storage (replicas, `zot-cli gc`).
for (const dedupe of [true, false]) {
  runStorageContract(
    `OciLayoutStorage (dedupe ${dedupe ? 'on' : 'off'})`,
    async () => {
      const rootDirectory = await mkdtemp(join(tmpdir(), 'zot-layout-contract-'));
      return {
        storage: new OciLayoutStorage({ rootDirectory, dedupe }),
        openPeer: async () => new OciLayoutStorage({ rootDirectory, dedupe }),
        cleanup: () => rm(rootDirectory, { recursive: true, force: true }),
      };
    },
    { sharedStorage: true },
  );
}
