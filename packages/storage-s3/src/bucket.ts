import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isNotFound } from './s3-util.js';

export interface ListedObject {
  key: string;
  size: number;
  modified: Date;
}

export interface ListedMultipart {
  key: string;
  uploadId: string;
  initiated: Date;
}

/**
 * The bucket operations every part of the backend shares: listings (whole prefixes, one level of
 * the key hierarchy, multipart uploads), HEAD, batch deletes and aborts. Each listing follows the
 * store's continuation tokens to the end.
 */
export class Bucket {
  constructor(
    readonly client: S3Client,
    readonly name: string,
  ) {}

  /** Size and modification time of an object; undefined when there is none. */
  async head(key: string): Promise<{ size: number; modified: Date | undefined } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return { size: out.ContentLength ?? 0, modified: out.LastModified };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every object whose key starts with `prefix`. */
  async list(prefix: string): Promise<ListedObject[]> {
    const found: ListedObject[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const o of out.Contents ?? []) if (o.Key) found.push({ key: o.Key, size: o.Size ?? 0, modified: o.LastModified ?? new Date() });
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /** One level of the key hierarchy under `prefix`: sub-"folders", and the objects with their names relative to it. */
  async listLevel(prefix: string): Promise<{ folders: string[]; files: ListedObject[] }> {
    const folders: string[] = [];
    const files: ListedObject[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const p of out.CommonPrefixes ?? []) if (p.Prefix) folders.push(p.Prefix.slice(prefix.length, -1));
      for (const o of out.Contents ?? []) {
        if (o.Key) files.push({ key: o.Key.slice(prefix.length), size: o.Size ?? 0, modified: o.LastModified ?? new Date() });
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return { folders, files };
  }

  /** Multipart uploads in progress under `prefix`. */
  async listMultiparts(prefix: string): Promise<ListedMultipart[]> {
    const found: ListedMultipart[] = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const out = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.name,
          Prefix: prefix,
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(idMarker ? { UploadIdMarker: idMarker } : {}),
        }),
      );
      for (const u of out.Uploads ?? []) {
        if (u.Key && u.UploadId) found.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date() });
      }
      keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
      idMarker = out.IsTruncated ? out.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return found;
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId }))
      .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
  }

  /** Deletes the objects, a thousand per request (S3's limit). */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.name, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
    }
  }
}
