/**
 * Test content of the current official suite (the 2025 rewrite: `conformance/testdata.go` and
 * `GenerateData` in `conformance/run.go`), with its default spec-1.1 configuration: every data
 * set it generates (images, indexes, nested indexes, artifacts, referrers with present and
 * missing subjects, descriptor `data` fields, non-distributable layers, unknown fields, no
 * layers, sha512 content, a 3.9 MB manifest, and a manifest pushed under a wrong digest).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { digestOf, goJson, type Algorithm } from './support.js';

export const MT = {
  exampleConf1: 'application/vnd.example.oci.conformance.v1',
  exampleConf2: 'application/vnd.example.oci.conformance.v2',
  octetStream: 'application/octet-stream',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociImage: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerPrefix: 'application/vnd.oci.image.layer.v1.',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerNd: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNdGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociEmptyJson: 'application/vnd.oci.empty.v1+json',
} as const;

export interface Platform {
  architecture: string;
  os: string;
}

/** An image-spec descriptor (field order as image-spec's Go struct marshals it). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

/** Per-content switches of the suite (`apiWithFlag`). */
export type Flag = 'SkipPullTest' | 'ExpectBadDigest' | 'PutLastChunk' | 'OutOfOrderChunks';

/** Go's crypto/rand.Text(): 26 characters of base32. */
export function randText(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  for (let i = 0; i < 26; i++) out += alphabet[randomInt(32)];
  return out;
}

export interface GenOptions {
  algo?: Algorithm;
  annotations?: Record<string, string>;
  annotationUniq?: boolean;
  artifactType?: string;
  blobSize?: number;
  compress?: boolean;
  configBytes?: Buffer;
  configMediaType?: string;
  descriptorMediaType?: string;
  extraField?: boolean;
  layerBytes?: Buffer;
  layerCount?: number;
  layerMediaType?: string;
  platform?: Platform;
  platforms?: Array<Platform | undefined>;
  setData?: boolean;
  subject?: Descriptor;
  tag?: string;
}

/** One data set: the content to push, in order, and what the registry should then report. */
export class TestData {
  readonly tags = new Map<string, string>();
  readonly desc = new Map<string, Descriptor>();
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, Buffer>();
  /** Manifests in push order (children before the indexes that list them). */
  readonly manOrder: string[] = [];
  /** Subject digest -> the referrer descriptors the referrers API must list. */
  readonly referrers = new Map<string, Descriptor[]>();
  readonly pushFlags = new Map<string, Set<Flag>>();
  readonly pullFlags = new Map<string, Set<Flag>>();
  readonly tagPushed = new Set<string>();

  constructor(
    readonly id: string,
    readonly title: string,
  ) {}

  addBlob(bytes: Buffer, opts: GenOptions = {}): string {
    const digest = digestOf(bytes, opts.algo ?? 'sha256');
    this.blobs.set(digest, bytes);
    this.desc.set(digest, {
      mediaType: opts.descriptorMediaType ?? MT.octetStream,
      digest,
      size: bytes.length,
      ...(opts.setData ? { data: bytes.toString('base64') } : {}),
    });
    return digest;
  }

  genBlob(opts: GenOptions = {}): { digest: string; bytes: Buffer } {
    const bytes = randomBytes(opts.blobSize ?? 2048);
    return { digest: this.addBlob(bytes, opts), bytes };
  }

  /** A tar layer holding one text file; gzipped unless `compress: false`. */
  genLayer(fileNumber: number, opts: GenOptions = {}): { compressed: string; uncompressed: string } {
    const algo = opts.algo ?? 'sha256';
    const text = `Conformance test file contents for file number ${fileNumber}.\nTodays lucky number is ${randomInt(2 ** 47)}\n`;
    const tar = tarOneFile(`./conformance-${fileNumber}.txt`, Buffer.from(text));
    const gzip = opts.compress !== false;
    const body = gzip ? gzipSync(tar) : tar;
    const compressed = digestOf(body, algo);
    const uncompressed = digestOf(tar, algo);
    this.blobs.set(compressed, body);
    this.desc.set(compressed, {
      mediaType: gzip ? MT.ociLayerGzip : MT.ociLayer,
      digest: compressed,
      size: body.length,
      ...(opts.setData ? { data: body.toString('base64') } : {}),
    });
    return { compressed, uncompressed };
  }

  genConfig(platform: Platform, diffIds: string[], opts: GenOptions = {}): string {
    const config = {
      author: 'OCI Conformance Test',
      architecture: platform.architecture,
      os: platform.os,
      config: {},
      rootfs: { type: 'layers', diff_ids: diffIds },
    };
    const bytes = goJson(opts.extraField ? withExtraField(config) : config);
    const digest = digestOf(bytes, opts.algo ?? 'sha256');
    this.blobs.set(digest, bytes);
    this.desc.set(digest, {
      mediaType: opts.configMediaType ?? MT.ociConfig,
      digest,
      size: bytes.length,
      ...(opts.setData ? { data: bytes.toString('base64') } : {}),
    });
    return digest;
  }

  genManifest(config: Descriptor, layers: Descriptor[], opts: GenOptions = {}): string {
    let annotations = opts.annotations;
    if (opts.annotationUniq) annotations = { ...annotations, [`org.example.${randText()}`]: randText() };
    const manifest = {
      schemaVersion: 2,
      mediaType: MT.ociImage,
      ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
      config,
      layers,
      ...(opts.subject ? { subject: opts.subject } : {}),
      ...(annotations ? { annotations } : {}),
    };
    const bytes = goJson(opts.extraField ? withExtraField(manifest) : manifest);
    const digest = this.addManifest(bytes, MT.ociImage, opts);
    if (opts.subject) {
      this.addReferrer(opts.subject.digest, {
        mediaType: MT.ociImage,
        digest,
        size: bytes.length,
        ...(annotations ? { annotations } : {}),
        artifactType: opts.artifactType || config.mediaType,
      });
    }
    return digest;
  }

  /** An image with `layerCount` layers (default 2) and a config; artifacts use blob layers. */
  genManifestFull(opts: GenOptions = {}): string {
    const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
    const layerDigests: string[] = [];
    const diffIds: string[] = [];
    for (let l = 0; l < (opts.layerCount ?? 2); l++) {
      if (!opts.layerMediaType || opts.layerMediaType.startsWith(MT.ociLayerPrefix)) {
        const { compressed, uncompressed } = this.genLayer(l, opts);
        layerDigests.push(compressed);
        diffIds.push(uncompressed);
      } else {
        const layerOpts = { ...opts, descriptorMediaType: opts.layerMediaType };
        const digest = opts.layerBytes ? this.addBlob(opts.layerBytes, layerOpts) : this.genBlob(layerOpts).digest;
        layerDigests.push(digest);
        diffIds.push(digest);
      }
    }
    const configDigest =
      !opts.configMediaType || opts.configMediaType === MT.ociConfig
        ? this.genConfig(platform, diffIds, opts)
        : this.addBlob(opts.configBytes ?? Buffer.alloc(0), { ...opts, descriptorMediaType: opts.configMediaType });
    return this.genManifest(
      this.desc.get(configDigest)!,
      layerDigests.map((d) => this.desc.get(d)!),
      opts,
    );
  }

  genIndex(platforms: Array<Platform | undefined>, manifests: string[], opts: GenOptions = {}): string {
    let annotations = opts.annotations;
    if (opts.annotationUniq) annotations = { ...annotations, [`org.example.${randText()}`]: randText() };
    const index = {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
      manifests: manifests.map((digest, i) => {
        const platform = platforms[i];
        return { ...this.desc.get(digest)!, ...(platform ? { platform } : {}) };
      }),
      ...(opts.subject ? { subject: opts.subject } : {}),
      ...(annotations ? { annotations } : {}),
    };
    const bytes = goJson(opts.extraField ? withExtraField(index) : index);
    const digest = this.addManifest(bytes, MT.ociIndex, opts);
    if (opts.subject) {
      this.addReferrer(opts.subject.digest, {
        mediaType: MT.ociIndex,
        digest,
        size: bytes.length,
        ...(annotations ? { annotations } : {}),
        ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
      });
    }
    return digest;
  }

  /** An index of one image per platform (default linux/amd64 and linux/arm64); options apply to all. */
  genIndexFull(opts: GenOptions = {}): string {
    const platforms = opts.platforms ?? [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ];
    const images = platforms.map((platform) => this.genManifestFull({ ...opts, ...(platform ? { platform } : {}) }));
    return this.genIndex(platforms, images, opts);
  }

  flag(map: Map<string, Set<Flag>>, digest: string, flag: Flag): void {
    const set = map.get(digest) ?? new Set<Flag>();
    set.add(flag);
    map.set(digest, set);
  }

  private addManifest(bytes: Buffer, mediaType: string, opts: GenOptions): string {
    const digest = digestOf(bytes, opts.algo ?? 'sha256');
    this.manifests.set(digest, bytes);
    this.manOrder.push(digest);
    this.desc.set(digest, {
      mediaType,
      digest,
      size: bytes.length,
      ...(opts.setData ? { data: bytes.toString('base64') } : {}),
    });
    if (opts.tag) this.tags.set(opts.tag, digest);
    return digest;
  }

  private addReferrer(subject: string, referrer: Descriptor): void {
    const list = this.referrers.get(subject) ?? [];
    list.push(referrer);
    this.referrers.set(subject, list);
  }
}

/** An unknown top-level field, as the suite's genAddJSONFields adds. */
function withExtraField(doc: object): object {
  return { ...doc, [`org.${randText()}`]: randText() };
}

/** A ustar archive with one regular file. */
function tarOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number): void => {
    header.write(text.slice(0, length), offset, 'ascii');
  };
  const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, '0')}\0`;
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

const AMD64: Platform = { os: 'linux', architecture: 'amd64' };
const ARM64: Platform = { os: 'linux', architecture: 'arm64' };
const ARTIFACT: GenOptions = {
  artifactType: MT.exampleConf1,
  configMediaType: MT.ociEmptyJson,
  configBytes: Buffer.from('{}'),
  layerCount: 1,
  layerMediaType: MT.exampleConf1,
};
const CONFORMANCE_ANNOTATION = { 'org.opencontainers.conformance': 'hello conformance test' };

/**
 * The data sets of the suite's GenerateData with the spec-1.1 defaults, in the suite's order.
 * ("sparse" is off by default; "tag-param-*" need the tag query parameter of 1.1+dev; the
 * read-only set only exists when the user names existing content.)
 */
export function generateDataSets(): TestData[] {
  const sets: TestData[] = [];
  const add = (id: string, title: string, build: (td: TestData) => void): void => {
    const td = new TestData(id, title);
    build(td);
    sets.push(td);
  };

  add('image', 'Image', (td) => td.genManifestFull({ tag: 'image' }));
  add('image-uncompressed', 'Image Uncompressed', (td) => td.genManifestFull({ tag: 'image-uncompressed', compress: false }));
  add('large-manifest', 'Image with Large Manifest', (td) => {
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 390; i++) annotations[`large-annotation-${i}`] = 'A'.repeat(10000);
    td.genManifestFull({ tag: 'large-manifest', annotations });
  });
  add('index', 'Index', (td) => td.genIndexFull({ tag: 'index', platforms: [AMD64, ARM64] }));
  add('nested-index', 'Nested Index', (td) => {
    const first = td.genIndexFull({ platforms: [AMD64, ARM64] });
    const second = td.genIndexFull({ platforms: [AMD64, ARM64] });
    td.genIndex([undefined, undefined], [first, second], { tag: 'index-of-index' });
  });
  add('empty-index', 'Empty Index', (td) => td.genIndexFull({ tag: 'index', platforms: [] }));
  add('artifact', 'Artifact', (td) => td.genManifestFull({ tag: 'artifact', ...ARTIFACT }));
  add('artifact-index', 'Artifact Index', (td) => td.genIndexFull({ tag: 'artifact-index', platforms: [AMD64, ARM64], ...ARTIFACT }));
  add('artifact-without-layers', 'Artifact without Layers', (td) =>
    td.genManifestFull({
      tag: 'artifact-without-layers',
      ...ARTIFACT,
      layerBytes: Buffer.from('{}'),
      layerMediaType: MT.ociEmptyJson,
    }),
  );
  add('artifacts-with-subject', 'Artifacts with Subject', (td) => {
    const subject = td.desc.get(td.genManifestFull({ tag: 'image' }))!;
    td.genManifestFull({ subject });
    const common = {
      annotations: CONFORMANCE_ANNOTATION,
      annotationUniq: true,
      configMediaType: MT.ociEmptyJson,
      configBytes: Buffer.from('{}'),
      layerCount: 1,
      subject,
    };
    td.genManifestFull({ ...common, artifactType: MT.exampleConf1, layerMediaType: MT.exampleConf1, tag: 'tagged-artifact1' });
    td.genManifestFull({ ...common, artifactType: MT.exampleConf2, layerMediaType: MT.octetStream, tag: 'tagged-artifact2' });
  });
  add('index-with-subject', 'Index with Subject', (td) => {
    const subject = td.desc.get(td.genIndexFull({ tag: 'index' }))!;
    td.genIndexFull({ ...ARTIFACT, annotations: CONFORMANCE_ANNOTATION, annotationUniq: true, subject, tag: 'tagged-artifact' });
  });
  add('missing-subject', 'Missing Subject', (td) => {
    const subject: Descriptor = { mediaType: MT.ociImage, size: 123, digest: digestOf('missing content') };
    td.genManifestFull({ ...ARTIFACT, annotations: CONFORMANCE_ANNOTATION, annotationUniq: true, subject, tag: 'tagged-artifact' });
  });
  add('data-field', 'Data Field', (td) => td.genManifestFull({ tag: 'data-field', setData: true }));
  add('non-distributable-layers', 'Non-distributable Layers', (td) => {
    const foreign = (mediaType: string, size: number): Descriptor => {
      const digest = digestOf(randomBytes(256));
      return { mediaType, digest, size, urls: [`https://store.example.com/blobs/sha256/${digest.slice(7)}`] };
    };
    const layers = [foreign(MT.ociLayerNdGzip, 123456), foreign(MT.ociLayerNd, 12345)];
    const normal = td.genLayer(1);
    layers.push(td.desc.get(normal.compressed)!);
    const diffIds = [digestOf(randomBytes(256)), layers[1]!.digest, normal.uncompressed];
    const config = td.genConfig(AMD64, diffIds);
    td.genManifest(td.desc.get(config)!, layers, { tag: 'non-distributable-image' });
  });
  add('custom-fields', 'Custom Fields', (td) => td.genIndexFull({ tag: 'custom-fields', platforms: [AMD64, ARM64], extraField: true }));
  add('no-layers', 'No Layers', (td) => td.genManifestFull({ tag: 'no-layers', layerCount: 0 }));
  // Non-canonical digests can only be pushed by digest (tags need the 1.1+dev tag parameter).
  add('sha512', 'Digest Algorithm sha512', (td) => td.genIndexFull({ algo: 'sha512' }));
  add('bad-digest-image', 'Bad Digest Image', (td) => {
    const digest = td.genManifestFull();
    td.flag(td.pullFlags, digest, 'SkipPullTest');
    td.flag(td.pushFlags, digest, 'ExpectBadDigest');
    // Trailing whitespace: the bytes no longer match the digest they are pushed under.
    td.manifests.set(digest, Buffer.concat([td.manifests.get(digest)!, Buffer.from('  ')]));
  });
  return sets;
}
