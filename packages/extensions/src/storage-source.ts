import type { RegistryStorage } from '@zotjs/core';

/**
 * The storage the extensions look at, or the promise of one still being opened (a CLI that opens
 * an S3 client while it sets the extensions up): health checks and usage measurements start once
 * it is there. They only ever go through the storage interface, never around it.
 */
export type StorageSource = RegistryStorage | PromiseLike<RegistryStorage>;
