import { RegistryError } from '../errors.js';

/** The registry's answers for what is missing or refused, in one place so every part words them alike. */

export function corruptContent(digest: string): RegistryError {
  // A server-side fault: the client's request was fine, the stored bytes are not.
  return new RegistryError('INTERNAL_ERROR', 'stored content is corrupt and is not served', { detail: { digest } });
}

export function blobUnknown(digest: string): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { detail: { digest } });
}

export function manifestUnknown(reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', { detail: { reference } });
}

export function nameUnknown(repository: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { detail: { name: repository } });
}

export function uploadUnknown(): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
}

export function manifestTooLarge(limit: number): RegistryError {
  return new RegistryError('SIZE_INVALID', `manifest exceeds the ${limit}-byte limit`, { status: 413 });
}

export function rangeNotSatisfiable(repository: string, uploadId: string, size: number): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', `chunk out of order: the upload has ${size} bytes`, {
    status: 416,
    headers: {
      Location: `/v2/${repository}/blobs/uploads/${uploadId}`,
      Range: `0-${Math.max(size - 1, 0)}`,
      'Docker-Upload-UUID': uploadId,
    },
  });
}
