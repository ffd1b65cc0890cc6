/**
 * Test content of the classic (v1.1, ginkgo) conformance workflows, rebuilt from the official
 * `conformance/setup.go` and `conformance/image.go`: one config and one image manifest per
 * workflow slot, a gzipped tar layer, the streamed and chunked test blobs, and the referrers
 * artifacts (config-typed, artifactType-typed, an index, and one whose subject is never pushed).
 *
 * The JSON is shaped like the Go structs the suite marshals (same field order, tab indentation,
 * `[]byte` fields as base64, and the suite's deliberately unknown `newUnspecifiedField`), so a
 * registry sees the same kind of documents it would see from the Go suite.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { digestOf, goIndentJson, parseBool } from './support.js';

export interface TestBlob {
  content: Buffer;
  contentLength: string;
  digest: string;
}

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** The suite's workflow bits (pull=1, push=2, discovery=4, management=8); `1 << 4` slots of content. */
export const NUM_WORKFLOWS = 1 << 4;
export const TEST_TAG_NAME = 'tagtest0';
export const EMPTY_LAYER_TEST_TAG = 'emptylayer';
export const NONEXISTENT_MANIFEST = '.INVALID_MANIFEST_NAME';
export const INVALID_MANIFEST_CONTENT = Buffer.from('blablabla');
export const ARTIFACT_TYPE_FILTER = 'artifactType';
export const TEST_ANNOTATION_KEY = 'org.opencontainers.conformance.test';

// A gzipped tar holding one text file (the suite's layerBase64String).
const LAYER_BASE64 =
  'H4sIAAAAAAAAA+3OQQrCMBCF4a49xXgBSUnaHMCTRBptQRNpp6i3t0UEV7oqIv7fYgbmzeJpHHSjVy0' +
  'WZCa1c/MufWVe94N3RWlrZ72x3k/30nhbFWKWLPU0Dhp6keJ8im//PuU/6pZH2WVtYx8b0Sz7LjWSR5VLG6YRBumSzOlGtjkd+qD' +
  'jMWiX07Befbs7AAAAAAAAAAAAAAAAAPyzO34MnqoAKAAA';

/** A descriptor as the suite's Go struct marshals it (`newUnspecifiedField` is always present). */
export interface GoDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  data?: string;
  artifactType?: string;
  newUnspecifiedField: string | null;
}

function descriptor(mediaType: string, content: Buffer, extra: Partial<GoDescriptor> = {}): GoDescriptor {
  const { newUnspecifiedField = null, ...rest } = extra;
  return { mediaType, digest: digestOf(content), size: content.length, ...rest, newUnspecifiedField };
}

function blob(content: Buffer, digestOverride?: string): TestBlob {
  return { content, contentLength: String(content.length), digest: digestOverride || digestOf(content) };
}

/** Go's randomString: letters, digits and '-'. */
function randomString(n: number): string {
  const letters = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-';
  let out = '';
  for (let i = 0; i < n; i++) out += letters[randomInt(letters.length)];
  return out;
}

export interface ChunkedBlob {
  content: Buffer;
  digest: string;
  chunk1: Buffer;
  chunk1Length: string;
  chunk1Range: string;
  chunk2: Buffer;
  chunk2Length: string;
  chunk2Range: string;
}

/** The chunked-upload blob, split just past its middle (the suite's setupChunkedBlob). */
export function makeChunkedBlob(size: number): ChunkedBlob {
  const content = randomBytes(size);
  const cut = Math.floor(size / 2) + 1;
  const chunk1 = content.subarray(0, cut);
  const chunk2 = content.subarray(cut);
  return {
    content,
    digest: digestOf(content),
    chunk1,
    chunk1Length: String(chunk1.length),
    chunk1Range: `0-${chunk1.length - 1}`,
    chunk2,
    chunk2Length: String(chunk2.length),
    chunk2Range: `${chunk1.length}-${content.length - 1}`,
  };
}

export interface ClassicFixtures {
  configs: TestBlob[];
  manifests: TestBlob[];
  layer: TestBlob;
  emptyLayerManifest: TestBlob;
  testBlobA: TestBlob;
  /** Replaced when the registry announces a larger OCI-Chunk-Min-Length. */
  chunked: ChunkedBlob;
  dummyDigest: string;
  emptyJsonBlob: TestBlob;
  refBlobA: TestBlob;
  refBlobB: TestBlob;
  refArtifactTypeA: string;
  refArtifactTypeB: string;
  refArtifactTypeIndex: string;
  refsManifestAConfig: TestBlob;
  refsManifestALayer: TestBlob;
  refsManifestBConfig: TestBlob;
  refsManifestBLayer: TestBlob;
  /** Like B's layer artifact, but its subject (manifests[3]) is never pushed. */
  refsManifestCLayer: TestBlob;
  refsIndex: TestBlob;
  /** Referrer digest -> its test annotation's value. */
  annotationValues: Map<string, string>;
}

/** The environment switches of setup.go. */
export interface ClassicSettings {
  runPullSetup: boolean;
  runContentDiscoverySetup: boolean;
  deleteManifestBeforeBlobs: boolean;
  /** Whether OCI_AUTOMATIC_CROSSMOUNT was given at all, and its value. */
  runAutomaticCrossmountTest: boolean;
  automaticCrossmountEnabled: boolean;
  tagName?: string;
  tagList?: string[];
}

/**
 * `OCI_AUTOMATIC_CROSSMOUNT` as the suite reads it. When we test our own zot-cli and the variable
 * is unset, we know the expected behaviour (zot-ts never mounts without `from`), so the
 * "disabled" check runs instead of being skipped.
 */
/** OCI_DELETE_MANIFEST_BEFORE_BLOBS (default true): teardown order. */
export function deleteManifestBeforeBlobs(): boolean {
  const value = process.env.OCI_DELETE_MANIFEST_BEFORE_BLOBS;
  return value === undefined ? true : (parseBool(value) ?? false);
}

export function classicSettings(ownServer: boolean): ClassicSettings {
  const env = process.env;
  const automatic = env.OCI_AUTOMATIC_CROSSMOUNT ?? (ownServer ? '0' : undefined);
  return {
    runPullSetup: !(env.OCI_TAG_NAME && env.OCI_MANIFEST_DIGEST && env.OCI_BLOB_DIGEST),
    runContentDiscoverySetup: !env.OCI_TAG_LIST,
    deleteManifestBeforeBlobs: deleteManifestBeforeBlobs(),
    runAutomaticCrossmountTest: automatic !== undefined,
    automaticCrossmountEnabled: parseBool(automatic) ?? false,
    ...(env.OCI_TAG_NAME ? { tagName: env.OCI_TAG_NAME } : {}),
    ...(env.OCI_TAG_LIST ? { tagList: env.OCI_TAG_LIST.split(',') } : {}),
  };
}

export function classicFixtures(): ClassicFixtures {
  const blobDigestOverride = process.env.OCI_BLOB_DIGEST;
  const manifestDigestOverride = process.env.OCI_MANIFEST_DIGEST;

  // A unique config per workflow slot (a random author makes each digest unique per run).
  const configs: TestBlob[] = [];
  for (let i = 0; i < NUM_WORKFLOWS; i++) {
    const config = {
      author: randomString(16),
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
    };
    configs.push(blob(goIndentJson(config), blobDigestOverride));
  }

  const layerData = Buffer.from(LAYER_BASE64, 'base64');
  const layer = blob(layerData);
  const layers = [descriptor(MEDIA.layerGzip, layerData)];

  // The config descriptor carries `data` (the config itself) and an unknown field.
  const configDescriptor = (c: TestBlob): GoDescriptor => ({
    mediaType: MEDIA.config,
    digest: c.digest,
    size: c.content.length,
    data: c.content.toString('base64'),
    newUnspecifiedField: Buffer.from('hello world').toString('base64'),
  });

  const manifests: TestBlob[] = [];
  for (let i = 0; i < NUM_WORKFLOWS; i++) {
    const manifest = { schemaVersion: 2, mediaType: MEDIA.manifest, config: configDescriptor(configs[i]!), layers };
    manifests.push(blob(goIndentJson(manifest), manifestDigestOverride));
  }

  // No mediaType field and no layers (the "empty layer" push case).
  const emptyLayerManifest = blob(goIndentJson({ schemaVersion: 2, config: configDescriptor(configs[1]!), layers: [] }));

  const emptyJsonBlob = blob(Buffer.from('{}'));
  const emptyJsonDescriptor = descriptor(MEDIA.empty, emptyJsonBlob.content);
  const refBlobA = blob(Buffer.from('NHL Peanut Butter on my NHL bagel'));
  const refBlobB = blob(Buffer.from('NBA Strawberry Jam on my NBA croissant'));
  const refArtifactTypeA = 'application/vnd.nhl.peanut.butter.bagel';
  const refArtifactTypeB = 'application/vnd.nba.strawberry.jam.croissant';
  const refArtifactTypeIndex = 'application/vnd.food.stand';
  const subjectOf = (m: TestBlob): GoDescriptor => descriptor(MEDIA.manifest, m.content);
  const annotationValues = new Map<string, string>();

  const artifact = (
    fields: { artifactType?: string; config: GoDescriptor; layers: GoDescriptor[]; subject: GoDescriptor },
    annotation?: string,
  ): TestBlob => {
    const doc = {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      ...(fields.artifactType ? { artifactType: fields.artifactType } : {}),
      config: fields.config,
      layers: fields.layers,
      subject: fields.subject,
      ...(annotation ? { annotations: { [TEST_ANNOTATION_KEY]: annotation } } : {}),
    };
    const made = blob(goIndentJson(doc));
    if (annotation) annotationValues.set(made.digest, annotation);
    return made;
  };

  // The artifact type carried by config.mediaType...
  const refsManifestAConfig = artifact(
    { config: descriptor(refArtifactTypeA, refBlobA.content), layers: [emptyJsonDescriptor], subject: subjectOf(manifests[4]!) },
    'test config a',
  );
  const refsManifestBConfig = artifact(
    { config: descriptor(refArtifactTypeB, refBlobB.content), layers: [emptyJsonDescriptor], subject: subjectOf(manifests[4]!) },
    'test config b',
  );
  // ...or by artifactType, with the empty config.
  const refsManifestALayer = artifact(
    {
      artifactType: refArtifactTypeA,
      config: emptyJsonDescriptor,
      layers: [descriptor(refArtifactTypeA, refBlobA.content)],
      subject: subjectOf(manifests[4]!),
    },
    'test layer a',
  );
  const refsManifestBLayer = artifact(
    {
      artifactType: refArtifactTypeB,
      config: emptyJsonDescriptor,
      layers: [descriptor(refArtifactTypeB, refBlobB.content)],
      subject: subjectOf(manifests[4]!),
    },
    'test layer b',
  );
  const refsManifestCLayer = artifact({
    artifactType: refArtifactTypeB,
    config: emptyJsonDescriptor,
    layers: [descriptor(refArtifactTypeB, refBlobB.content)],
    subject: subjectOf(manifests[3]!),
  });

  const refsIndexDoc = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    artifactType: refArtifactTypeIndex,
    manifests: [descriptor(MEDIA.manifest, refsManifestAConfig.content), descriptor(MEDIA.manifest, refsManifestALayer.content)],
    subject: subjectOf(manifests[4]!),
    annotations: { [TEST_ANNOTATION_KEY]: 'test index' },
  };
  const refsIndex = blob(goIndentJson(refsIndexDoc));
  annotationValues.set(refsIndex.digest, 'test index');

  return {
    configs,
    manifests,
    layer,
    emptyLayerManifest,
    testBlobA: blob(randomBytes(42)),
    chunked: makeChunkedBlob(42),
    dummyDigest: digestOf('hello world'),
    emptyJsonBlob,
    refBlobA,
    refBlobB,
    refArtifactTypeA,
    refArtifactTypeB,
    refArtifactTypeIndex,
    refsManifestAConfig,
    refsManifestALayer,
    refsManifestBConfig,
    refsManifestBLayer,
    refsManifestCLayer,
    refsIndex,
    annotationValues,
  };
}
