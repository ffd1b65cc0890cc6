import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { RegistryError } from '@zotjs/core';
import type { Bucket } from './bucket.js';
import { copySource, type ObjectCopier } from './copier.js';
import type { KeyLayout } from './keys.js';
import { isConditionFailed, mapLimit } from './s3-util.js';
import type { LoadedSession, SessionObjects } from './session-object.js';
import type { SessionState } from './session-state.js';

/**
 * A session's data object `.uploads/<id>/data-<hex>`: a multipart upload that full parts go to,
 * sealed into one complete object (the tail as its last part) when the session is read back or
 * committed. Each method updates the `state` it is given; the caller saves it.
 */
export class SessionData {
  constructor(
    private readonly bucket: Bucket,
    private readonly keys: KeyLayout,
    private readonly copier: ObjectCopier,
    private readonly objects: SessionObjects,
  ) {}

  /** Uploads one full part, starting the multipart upload first when there is none. */
  async uploadPart(repository: string, uploadId: string, state: SessionState, part: Buffer, obsolete: string[]): Promise<void> {
    if (!state.multipartId) await this.startMultipart(repository, uploadId, state, obsolete);
    const partNumber = state.parts + 1;
    await this.bucket.client.send(
      new UploadPartCommand({
        Bucket: this.bucket.name,
        Key: this.keys.data(repository, uploadId, state.data),
        UploadId: state.multipartId,
        PartNumber: partNumber,
        Body: part,
        ContentLength: part.length,
      }),
    );
    state.parts = partNumber;
    state.dataBytes += part.length;
  }

  /**
   * Turns the session's data into one complete object: the tail becomes the last part and the
   * multipart upload is completed. The session then holds a completed data object and no tail.
   */
  async seal(repository: string, uploadId: string, session: LoadedSession): Promise<LoadedSession> {
    const state = { ...session.state };
    const obsolete: string[] = [];
    if (!state.multipartId) await this.startMultipart(repository, uploadId, state, obsolete);
    const key = this.keys.data(repository, uploadId, state.data);
    if (session.tail.length > 0) {
      await this.bucket.client.send(
        new UploadPartCommand({
          Bucket: this.bucket.name,
          Key: key,
          UploadId: state.multipartId,
          PartNumber: state.parts + 1,
          Body: session.tail,
          ContentLength: session.tail.length,
        }),
      );
      state.parts += 1;
      state.dataBytes += session.tail.length;
    }
    const parts = await this.listParts(key, state.multipartId, state.parts);
    const stored = parts.reduce((sum, p) => sum + p.size, 0);
    if (parts.length !== state.parts || stored !== state.dataBytes) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload session data is incomplete in storage', {
        detail: { expected: state.dataBytes, stored },
      });
    }
    await this.bucket.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket.name,
        Key: key,
        UploadId: state.multipartId,
        MultipartUpload: { Parts: parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
      }),
    );
    state.multipartId = '';
    state.parts = 0;
    const etag = await this.objects.save(repository, uploadId, state, Buffer.alloc(0), session.etag).catch(async (err: unknown) => {
      if (isConditionFailed(err)) throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload session changed while being completed');
      throw err;
    });
    await this.bucket.deleteKeys(obsolete).catch(() => undefined);
    return { state, etag, tail: Buffer.alloc(0) };
  }

  /**
   * Starts a new multipart upload for the session's data. A completed data object (the session was read
   * back, then appended to) becomes its first parts by server-side copy.
   */
  private async startMultipart(repository: string, uploadId: string, state: SessionState, obsolete: string[]): Promise<void> {
    const name = `data-${randomBytes(6).toString('hex')}`;
    const key = this.keys.data(repository, uploadId, name);
    const created = await this.bucket.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket.name, Key: key }));
    const multipartId = created.UploadId!;
    let parts = 0;
    if (state.data) {
      const previous = this.keys.data(repository, uploadId, state.data);
      const ranges = this.copier.ranges(state.dataBytes);
      await mapLimit(ranges, 4, async (range, i) => {
        const partNumber = i + 1;
        await this.bucket.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket.name,
            Key: key,
            UploadId: multipartId,
            PartNumber: partNumber,
            CopySource: copySource(this.bucket.name, previous),
            CopySourceRange: `bytes=${range.start}-${range.end}`,
          }),
        );
      });
      parts = ranges.length;
      obsolete.push(previous);
    }
    state.data = name;
    state.multipartId = multipartId;
    state.parts = parts;
  }

  private async listParts(key: string, multipartId: string, count: number): Promise<Array<CompletedPart & { size: number }>> {
    const parts: Array<CompletedPart & { size: number }> = [];
    let marker: string | undefined;
    do {
      const out = await this.bucket.client.send(
        new ListPartsCommand({
          Bucket: this.bucket.name,
          Key: key,
          UploadId: multipartId,
          ...(marker ? { PartNumberMarker: marker } : {}),
        }),
      );
      for (const p of out.Parts ?? []) {
        // Parts past `count` are leftovers of an append that failed before saving the state.
        if (p.PartNumber !== undefined && p.PartNumber <= count) parts.push({ PartNumber: p.PartNumber, ETag: p.ETag, size: p.Size ?? 0 });
      }
      marker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
    } while (marker);
    return parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
  }
}
