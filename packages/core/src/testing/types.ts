import type { RegistryStorage } from '../storage.js';

/** A test body: may be async. */
export type TestBody = () => void | Promise<void>;

/**
 * The two test-registration functions the kit needs. node:test's `describe`/`it` are the
 * default; vitest's and mocha's (`describe`/`it`) fit as they are. Every test creates its own
 * storage through the factory, so no `before`/`after` hooks are needed.
 */
export interface TestFunctions {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: TestBody): unknown;
}

/** What the factory returns for one test. */
export interface StorageFixture {
  /** A fresh, empty storage: no repositories. */
  storage: RegistryStorage;
  /**
   * Opens another, independent instance over the same underlying data (as a second process or
   * replica would). Required when the `sharedStorage` option is set.
   */
  openPeer?: () => Promise<RegistryStorage>;
  /** Removes what the test created (temporary folders, buckets, prefixes). */
  cleanup?: () => Promise<void>;
}

export type StorageFactory = () => Promise<StorageFixture>;

export interface StorageContractOptions {
  /** Test functions of your runner (default: node:test's). */
  test?: TestFunctions;
  /**
   * The backend is shared storage (a filesystem, an object store): several instances over the
   * same data must see one state, continue each other's uploads and never lose each other's
   * index updates. Turns on the tests that use {@link StorageFixture.openPeer}.
   */
  sharedStorage?: boolean;
  /** How many index updates race in the concurrency tests (default 50). */
  concurrency?: number;
}

/** The options every group of the kit's cases runs with (defaults filled in). */
export type KitSettings = Required<Omit<StorageContractOptions, 'test'>>;
