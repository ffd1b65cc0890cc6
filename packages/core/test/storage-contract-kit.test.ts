// A contract kit that passes everything proves nothing: each broken backend below must fail the
// kit's test for the rule it breaks (and still pass an unrelated one, so the failure is specific).
// The kit's tests are collected through its pluggable test functions, as vitest or mocha would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { runStorageContract, type StorageFixture, type TestBody, type TestFunctions } from '../src/testing/index.js';
import { createHash } from 'node:crypto';
import {
  emptyIndex,
  type IndexUpdate,
  type ReadBlobOptions,
  type RepositoryIndex,
  type StorageCapabilities,
  type UploadDigest,
  type UploadDigests,
  type UploadInfo,
} from '../src/index.js';
import { MemoryStorage, type MemoryRepository } from '../src/testing/index.js';

/** Test functions that record the kit's tests by full name instead of running them. */
function collector(): { fns: TestFunctions; tests: Map<string, TestBody> } {
  const tests = new Map<string, TestBody>();
  const path: string[] = [];
  const fns: TestFunctions = {
    describe(name, body) {
      path.push(name);
      body();
      path.pop();
    },
    it(name, body) {
      tests.set([...path, name].join(' > '), body);
    },
  };
  return { fns, tests };
}

function collectKit(createStorage: () => Promise<StorageFixture>): Map<string, TestBody> {
  const { fns, tests } = collector();
  runStorageContract('broken', createStorage, { test: fns, sharedStorage: true, concurrency: 20 });
  return tests;
}

async function outcome(tests: Map<string, TestBody>, fragment: string): Promise<'pass' | 'fail'> {
  const matches = [...tests.keys()].filter((name) => name.includes(fragment));
  assert.equal(matches.length, 1, `exactly one kit test named like "${fragment}" (found ${matches.join(', ')})`);
  try {
    await tests.get(matches[0]!)!();
    return 'pass';
  } catch {
    return 'fail';
  }
}

/** Runs the kit on `make()` and checks that `breaks` fails while `control` passes. */
async function expectCaught(
  make: (shared: Map<string, MemoryRepository>) => MemoryStorage,
  breaks: string,
  control: string,
): Promise<void> {
  const tests = collectKit(async () => {
    const shared = new Map<string, MemoryRepository>();
    return { storage: make(shared), openPeer: async () => make(shared) };
  });
  assert.equal(await outcome(tests, control), 'pass', `control test "${control}" passes`);
  assert.equal(await outcome(tests, breaks), 'fail', `the kit catches the broken rule in "${breaks}"`);
}

class ThrowsWhenMissing extends MemoryStorage {
  override async readIndex(repository: string): Promise<RepositoryIndex | undefined> {
    const index = await super.readIndex(repository);
    if (!index) throw new Error(`ENOENT: ${repository}/index.json`);
    return index;
  }
}

class LosesUpdates extends MemoryStorage {
  override async updateIndex(repository: string, update: IndexUpdate): Promise<RepositoryIndex> {
    const current = (await this.readIndex(repository)) ?? emptyIndex();
    await new Promise((resolve) => setImmediate(resolve)); // read, wait for I/O, write: no lock
    const next = update(current) ?? current;
    this.repository(repository).index = structuredClone(next);
    return next;
  }
}

class IgnoresOffset extends MemoryStorage {
  override async appendUpload(repository: string, uploadId: string, _offset: number, data: Readable): Promise<number> {
    const upload = this.upload(repository, uploadId);
    return super.appendUpload(repository, uploadId, upload.size, data);
  }
}

class ExclusiveRangeEnd extends MemoryStorage {
  override async readBlob(repository: string, digest: string, options: ReadBlobOptions = {}): Promise<Readable | undefined> {
    const range = options.range && { start: options.range.start, end: Math.max(options.range.start, options.range.end - 1) };
    return super.readBlob(repository, digest, range ? { ...options, range } : options);
  }
}

class DeletesEverywhere extends MemoryStorage {
  override async deleteBlob(repository: string, digest: string): Promise<boolean> {
    const found = await super.deleteBlob(repository, digest);
    for (const repo of this.repositories.values()) repo.blobs.delete(digest);
    return found;
  }
}

class KeepsCommittedSessions extends MemoryStorage {
  override async commitUpload(repository: string, uploadId: string, digest: string, _size: number): Promise<void> {
    const upload = this.upload(repository, uploadId);
    this.repository(repository).blobs.set(digest, Buffer.concat(upload.chunks));
  }
}

class GlobalSessions extends MemoryStorage {
  override async statUpload(repository: string, uploadId: string): Promise<UploadInfo | undefined> {
    for (const repo of this.repositories.values()) {
      const upload = repo.uploads.get(uploadId);
      if (upload) return { size: upload.size, startedAt: upload.startedAt };
    }
    return super.statUpload(repository, uploadId);
  }
}

/** Tracks the digest of the first 4 KiB only, as a backend that stops updating its running hash would. */
class StaleUploadDigest extends MemoryStorage implements UploadDigests {
  override readonly capabilities: StorageCapabilities = { uploadDigests: this };
  async uploadDigest(repository: string, uploadId: string, algorithm: 'sha256' | 'sha512'): Promise<UploadDigest | undefined> {
    const info = await this.statUpload(repository, uploadId);
    if (!info) return undefined;
    const hash = createHash(algorithm);
    let seen = 0;
    for await (const chunk of await this.readUpload(repository, uploadId)) {
      const bytes = (chunk as Buffer).subarray(0, Math.max(0, 4096 - seen));
      hash.update(bytes);
      seen += bytes.length;
    }
    return { digest: `${algorithm}:${hash.digest('hex')}`, size: info.size };
  }
}

class TruncatesManifests extends MemoryStorage {
  override async putBlob(repository: string, digest: string, data: Uint8Array): Promise<void> {
    // Re-encodes JSON: the bytes (and so the digest) of a manifest change.
    const text = Buffer.from(data).toString('utf8');
    let stored: Uint8Array = data;
    try {
      stored = Buffer.from(JSON.stringify(JSON.parse(text)));
    } catch {
      // not JSON: kept as is
    }
    return super.putBlob(repository, digest, stored);
  }
}

describe('the storage contract kit catches broken backends', () => {
  it('a backend that throws for a missing repository', () =>
    expectCaught((s) => new ThrowsWhenMissing(s), 'answers undefined or false on an empty storage', 'readBlob serves inclusive'));

  it('a backend whose index updates are not atomic', () =>
    expectCaught((s) => new LosesUpdates(s), 'concurrent updates, each adding one tag', 'readBlob serves inclusive'));

  it('a backend that appends at any offset', () =>
    expectCaught((s) => new IgnoresOffset(s), 'a wrong offset throws UploadOffsetError', 'concurrent updates, each adding one tag'));

  it('a backend that reads ranges with an exclusive end', () =>
    expectCaught((s) => new ExclusiveRangeEnd(s), 'readBlob serves inclusive byte ranges', 'a wrong offset throws'));

  it('a backend that deletes a blob from every repository', () =>
    expectCaught((s) => new DeletesEverywhere(s), 'deleteBlob removes the blob from one repository only', 'a wrong offset throws'));

  it('a backend whose commit leaves the session behind', () =>
    expectCaught((s) => new KeepsCommittedSessions(s), 'commitUpload makes the exact bytes a blob', 'readBlob serves inclusive'));

  it('a backend that finds upload sessions across repositories', () =>
    expectCaught((s) => new GlobalSessions(s), 'sessions are invisible from other repositories', 'readBlob serves inclusive'));

  it('a backend whose tracked upload digest lags behind the data', () =>
    expectCaught((s) => new StaleUploadDigest(s), 'uploadDigest, when the backend tracks it', 'readBlob serves inclusive'));

  it('a backend that does not store manifests byte for byte', () =>
    expectCaught((s) => new TruncatesManifests(s), 'manifests by tag and digest, byte for byte', 'readBlob serves inclusive'));

  it('instances that do not share state although the backend claims to', async () => {
    const tests = collectKit(async () => ({ storage: new MemoryStorage(), openPeer: async () => new MemoryStorage() }));
    assert.equal(await outcome(tests, 'sees the repositories, indexes and blobs of the first'), 'fail');
    assert.equal(await outcome(tests, 'continues an upload session the other started'), 'fail');
    assert.equal(await outcome(tests, 'a push through one is pulled through the other'), 'fail');
  });

  it('a shared-storage claim without openPeer', async () => {
    const tests = collectKit(async () => ({ storage: new MemoryStorage() }));
    assert.equal(await outcome(tests, 'sees index changes of the other on its next read'), 'fail');
  });

  it('registers every test under the backend name, and the shared tests only when asked', () => {
    const shared = collectKit(async () => ({ storage: new MemoryStorage() }));
    const { fns, tests: plain } = collector();
    runStorageContract('plain', async () => ({ storage: new MemoryStorage() }), { test: fns });
    assert.ok([...plain.keys()].every((name) => name.startsWith('plain: RegistryStorage contract > ')));
    assert.ok(![...plain.keys()].some((name) => name.includes('second instance') || name.includes('two registry engines')));
    assert.equal(shared.size - plain.size, 8, 'seven shared-storage tests and one two-engine test');
  });
});
