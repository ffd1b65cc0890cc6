import type { RegistryStorage } from '@zotjs/core';
import type { Logger } from 'pino';
import type { Settings } from './config/settings.js';

/**
 * The storage `storage.storageDriver` asks for (an S3 bucket), or undefined for the default: OCI
 * layouts under `storage.rootDirectory`. S3 credentials come from the file or, when absent, from the
 * AWS SDK's chain (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...). Never logged.
 */
export async function buildStorage(settings: Settings, logger: Logger): Promise<RegistryStorage | undefined> {
  const driver = settings.config.storage?.storageDriver;
  if (!driver) return undefined;
  const { S3Storage, optionsFromDriverConfig } = await loadS3Backend();
  const options = optionsFromDriverConfig(driver as Record<string, unknown>);
  logger.info(
    {
      storageDriver: 's3',
      bucket: options.bucket,
      endpoint: options.endpoint ?? 'aws',
      rootdirectory: options.rootDirectory ?? '',
      redirect: options.redirect ?? false,
    },
    `storage: S3 bucket ${options.bucket}`,
  );
  return new S3Storage({ ...options, onWarning: (message, details) => logger.warn(details ?? {}, message) });
}

const S3_PACKAGE = '@zotjs/storage-s3';

/**
 * The S3 backend, an optional peer dependency of zot-cli: installed by those who use it, loaded
 * only when configured (the AWS SDK alone costs a registry on local disk ~25 MB of memory).
 */
async function loadS3Backend(): Promise<typeof import('@zotjs/storage-s3')> {
  try {
    return await import('@zotjs/storage-s3');
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    // Only the package itself missing; a broken install of it (or of the AWS SDK) reports as it is.
    if (code === 'ERR_MODULE_NOT_FOUND' && message.includes(`'${S3_PACKAGE}'`)) {
      throw new Error(
        `storage.storageDriver is set, but the S3 backend is not installed: run \`npm install ${S3_PACKAGE}\` where zot-cli is installed`,
      );
    }
    throw err;
  }
}
