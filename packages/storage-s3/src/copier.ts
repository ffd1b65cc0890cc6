import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { mapLimit } from './s3-util.js';

export interface ByteSpan {
  start: number;
  end: number;
}

/** The `CopySource` value for a key: bucket and key, each path segment percent-encoded. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Server-side copies inside the bucket (commits, mounts): one CopyObject up to `partSize`, a multipart
 * copy of `partSize` ranges beyond (S3 refuses CopyObject over 5 GiB). The target appears whole or not at all.
 */
export class ObjectCopier {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly partSize: number,
  ) {}

  /** Ranges of about `partSize` covering `size` bytes, all equal-sized so none is under S3's minimum. */
  ranges(size: number): ByteSpan[] {
    const count = Math.max(1, Math.ceil(size / this.partSize));
    const each = Math.ceil(size / count);
    const spans: ByteSpan[] = [];
    for (let start = 0; start < size; start += each) spans.push({ start, end: Math.min(size, start + each) - 1 });
    return spans;
  }

  async copy(source: string, target: string, size: number, metadata?: Record<string, string>): Promise<void> {
    if (size <= this.partSize) {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: target,
          CopySource: copySource(this.bucket, source),
          // Upload sessions carry their state in metadata: a blob gets none of it.
          MetadataDirective: 'REPLACE',
          ContentType: 'application/octet-stream',
          ...(metadata ? { Metadata: metadata } : {}),
        }),
      );
      return;
    }
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: target,
        ContentType: 'application/octet-stream',
        ...(metadata ? { Metadata: metadata } : {}),
      }),
    );
    const uploadId = created.UploadId!;
    try {
      const ranges = this.ranges(size);
      const parts = await mapLimit(ranges, 4, async (range, i) => {
        const out = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: target,
            UploadId: uploadId,
            PartNumber: i + 1,
            CopySource: copySource(this.bucket, source),
            CopySourceRange: `bytes=${range.start}-${range.end}`,
          }),
        );
        return { PartNumber: i + 1, ETag: out.CopyPartResult?.ETag };
      });
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: target, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (err) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: target, UploadId: uploadId }))
        .catch(() => undefined);
      throw err;
    }
  }
}
