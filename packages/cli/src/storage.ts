import type { RegistryStorage } from '@zotjs/core';
import { S3Storage, optionsFromDriverConfig } from '@zotjs/storage-s3';
import type { Logger } from 'pino';
import type { Settings } from './config/settings.js';

/**
 * The storage `storage.storageDriver` asks for (an S3 bucket), or undefined for the default: OCI
 * layouts under `storage.rootDirectory`. S3 credentials come from the file or, when absent, from the
 * AWS SDK's chain (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...). Never logged.
 */
export function buildStorage(settings: Settings, logger: Logger): RegistryStorage | undefined {
  const driver = settings.config.storage?.storageDriver;
  if (!driver) return undefined;
  const options = optionsFromDriverConfig(driver as Record<string, unknown>);
  logger.info(
    { storageDriver: 's3', bucket: options.bucket, endpoint: options.endpoint ?? 'aws', rootdirectory: options.rootDirectory ?? '', redirect: options.redirect ?? false },
    `storage: S3 bucket ${options.bucket}`,
  );
  return new S3Storage({ ...options, onWarning: (message, details) => logger.warn(details ?? {}, message) });
}
