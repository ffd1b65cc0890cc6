export { S3Storage } from './s3-storage.js';
export {
  optionsFromDriverConfig,
  S3_DRIVER_KEYS,
  DEFAULT_PART_SIZE,
  MIN_PART_SIZE,
  type S3DriverConfig,
  type S3StorageOptions,
} from './options.js';
export { KeyLayout } from './keys.js';
export type { ConditionalStyle } from './conditional.js';
