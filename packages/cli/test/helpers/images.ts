/**
 * Test helpers for building container images offline and driving the real container clients
 * (skopeo, podman, buildah, umoci) in isolation.
 *
 * Two ways to get an image:
 * - `makeImage` / `makeIndex` + `writeOciLayout`: OCI content made by hand (real gzip'd tar layers of random
 *   bytes), written as an OCI image layout that `skopeo copy oci:DIR:TAG ...` reads.
 * - `ClientSandbox.buildImage` / `buildMultiArch`: `buildah from scratch` + `buildah copy` + `buildah commit`.
 *
 * Every `ClientSandbox` has its own containers-storage (`--root`/`--runroot`, vfs driver), HOME, auth file and
 * signature policy under a temp folder, so tests running side by side never see each other's images or logins.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** A blob and the descriptor that points at it. */
export interface BlobContent {
  descriptor: Descriptor;
  data: Buffer;
}

/** A layer blob plus what it unpacks to, so tests can check an unpacked root filesystem. */
export interface LayerContent extends BlobContent {
  /** sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  diffId: string;
  files: Array<{ name: string; data: Buffer }>;
}

export interface ImageContent {
  kind: 'image';
  /** The manifest's exact bytes; `descriptor.digest` is their sha256. */
  manifest: Buffer;
  descriptor: Descriptor;
  config: BlobContent;
  layers: LayerContent[];
}

export interface IndexContent {
  kind: 'index';
  manifest: Buffer;
  descriptor: Descriptor;
  images: ImageContent[];
}

export type Content = ImageContent | IndexContent;

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The host platform in OCI terms (podman warns when a pulled image's platform differs). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
  return { architecture: arch[process.arch] ?? process.arch, os: 'linux' };
}

/** One regular file in a POSIX ustar archive: a 512-byte header, the data, zero padding to 512. */
function tarEntry(name: string, data: Buffer, mtime: number): Buffer {
  const header = Buffer.alloc(512);
  const put = (value: string, offset: number, length: number): void => {
    header.write(value, offset, Math.min(Buffer.byteLength(value), length), 'utf8');
  };
  const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, '0')}\0`;
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(data.length, 12), 124, 12);
  put(octal(mtime, 12), 136, 12);
  put('        ', 148, 8); // checksum is computed with its own field as spaces
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding]);
}

/** A tar archive of the given files, ending with the two zero blocks tar readers expect. */
export function makeTar(files: Array<{ name: string; data: Buffer }>): Buffer {
  const mtime = Math.floor(Date.now() / 1000);
  return Buffer.concat([...files.map((file) => tarEntry(file.name, file.data, mtime)), Buffer.alloc(1024)]);
}

export interface MakeImageOptions {
  /** Number of layers (default 2). */
  layers?: number;
  /** Random bytes in each layer's single file (default 64 KiB). */
  layerSize?: number;
  /** Default: the host platform. */
  platform?: Platform;
  /** Layers as plain tar instead of tar+gzip. */
  uncompressed?: boolean;
  annotations?: Record<string, string>;
}

/** An OCI image made by hand: real tar layers of random bytes (so every call is a new image), config, manifest. */
export function makeImage(options: MakeImageOptions = {}): ImageContent {
  const layerCount = options.layers ?? 2;
  const layerSize = options.layerSize ?? 64 * 1024;
  const platform = options.platform ?? hostPlatform();
  const created = new Date().toISOString();
  const layers: LayerContent[] = [];
  for (let i = 0; i < layerCount; i += 1) {
    const files = [{ name: `layer-${i}.bin`, data: randomBytes(layerSize) }];
    const tar = makeTar(files);
    const data = options.uncompressed ? tar : gzipSync(tar, { level: 1 });
    const mediaType = options.uncompressed ? MEDIA_TYPES.ociLayerTar : MEDIA_TYPES.ociLayerGzip;
    layers.push({ data, descriptor: { mediaType, digest: sha256(data), size: data.length }, diffId: sha256(tar), files });
  }
  const diffIds = layers.map((layer) => layer.diffId);
  const configJson = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    // `created` on every entry: umoci 0.4.7 crashes on history entries without it.
    history: diffIds.map((_, i) => ({ created, created_by: `zot-ts test layer ${i}` })),
  };
  const configData = Buffer.from(JSON.stringify(configJson));
  const config: BlobContent = {
    data: configData,
    descriptor: { mediaType: MEDIA_TYPES.ociConfig, digest: sha256(configData), size: configData.length },
  };
  const manifestJson = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: config.descriptor,
    layers: layers.map((layer) => layer.descriptor),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const manifest = Buffer.from(JSON.stringify(manifestJson));
  return {
    kind: 'image',
    manifest,
    descriptor: { mediaType: MEDIA_TYPES.ociManifest, digest: sha256(manifest), size: manifest.length, platform },
    config,
    layers,
  };
}

/** An OCI image index over `images`, each entry carrying its image's platform. */
export function makeIndex(images: ImageContent[], annotations?: Record<string, string>): IndexContent {
  const indexJson = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: images.map((image) => image.descriptor),
    ...(annotations ? { annotations } : {}),
  };
  const manifest = Buffer.from(JSON.stringify(indexJson));
  return {
    kind: 'index',
    manifest,
    descriptor: { mediaType: MEDIA_TYPES.ociIndex, digest: sha256(manifest), size: manifest.length },
    images,
  };
}

/** Every blob an image or index needs, child manifests included (each digest once). */
export function allBlobs(content: Content): BlobContent[] {
  const found = new Map<string, BlobContent>();
  const addImage = (image: ImageContent): void => {
    found.set(image.descriptor.digest, { descriptor: image.descriptor, data: image.manifest });
    found.set(image.config.descriptor.digest, image.config);
    for (const layer of image.layers) found.set(layer.descriptor.digest, layer);
  };
  if (content.kind === 'image') addImage(content);
  else {
    for (const image of content.images) addImage(image);
    found.set(content.descriptor.digest, { descriptor: content.descriptor, data: content.manifest });
  }
  return [...found.values()];
}

/**
 * Writes an OCI image layout by hand: `oci-layout`, `blobs/sha256/*` and an `index.json` naming each entry
 * with the `org.opencontainers.image.ref.name` annotation, which is what `skopeo copy oci:DIR:TAG` looks up.
 */
export async function writeOciLayout(dir: string, refs: Array<{ tag: string; content: Content }>): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const { content } of refs) {
    for (const blob of allBlobs(content)) {
      await writeFile(join(dir, 'blobs', 'sha256', blob.descriptor.digest.slice('sha256:'.length)), blob.data);
    }
  }
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: refs.map(({ tag, content }) => ({
      mediaType: content.descriptor.mediaType,
      digest: content.descriptor.digest,
      size: content.descriptor.size,
      annotations: { [REF_NAME_ANNOTATION]: tag },
    })),
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

// ---------------------------------------------------------------------------------------------------------------
// Running the real clients

export type ClientTool = 'skopeo' | 'podman' | 'buildah' | 'umoci';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Resolve with the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  /** Default 180 s: a hung client must fail the test, not the CI run. */
  timeoutMs?: number;
  cwd?: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(`\`${command}\` exited with ${result.code}\n--- stderr ---\n${tail(result.stderr)}\n--- stdout ---\n${tail(result.stdout)}`);
    this.name = 'CommandError';
  }
}

function tail(text: string, max = 4000): string {
  return text.length > max ? `...${text.slice(-max)}` : text;
}

/** Runs a program without a shell; never rejects for a non-zero exit when `allowFailure` is set. */
export function runCommand(program: string, args: string[], options: RunOptions & { env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    execFile(
      program,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 180_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const errno = error as (NodeJS.ErrnoException & { code?: string | number; killed?: boolean }) | null;
        if (errno && typeof errno.code === 'string') {
          reject(new Error(`cannot run ${program}: ${errno.message}`));
          return;
        }
        const code = errno ? (typeof errno.code === 'number' ? errno.code : errno.killed ? 137 : 1) : 0;
        const result: RunResult = { code, stdout, stderr };
        const command = [program, ...args].join(' ');
        if (errno?.killed) {
          reject(new CommandError(`${command} (killed after ${options.timeoutMs ?? 180_000} ms)`, result));
        } else if (code !== 0 && !options.allowFailure) {
          reject(new CommandError(command, result));
        } else {
          resolveRun(result);
        }
      },
    );
  });
}

const toolPresence = new Map<string, boolean>();

/** Whether `program` is on PATH (or in /usr/sbin, /sbin). */
export function hasProgram(program: string): boolean {
  let present = toolPresence.get(program);
  if (present === undefined) {
    present =
      spawnSync('sh', ['-c', `command -v "$1" || test -x "/usr/sbin/$1" || test -x "/sbin/$1"`, 'sh', program], {
        stdio: 'ignore',
      }).status === 0;
    toolPresence.set(program, present);
  }
  return present;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * For `test(name, { skip: skipUnlessPrograms('skopeo') }, ...)`: a reason to skip when a client is missing and
 * we are not root (a developer without the Debian packages). As root (CI) a missing client fails the test,
 * since `scripts/setup.mjs --system` installs them.
 */
export function skipUnlessPrograms(...programs: string[]): string | false {
  const missing = programs.filter((program) => !hasProgram(program));
  if (missing.length === 0 || isRoot) return false;
  return `needs ${missing.join(', ')} (install with: apt-get install ${missing.join(' ')}, or run scripts/setup.mjs --system as root)`;
}

/** Isolated storage, HOME, auth file and policy for the container clients. */
export class ClientSandbox {
  readonly root: string;
  readonly runroot: string;
  readonly home: string;
  readonly authFile: string;
  readonly policyPath: string;
  private readonly podmanTmp: string;
  private readonly tmp: string;

  private constructor(readonly dir: string) {
    this.root = join(dir, 'storage');
    this.runroot = join(dir, 'run');
    this.home = join(dir, 'home');
    this.authFile = join(dir, 'auth.json');
    this.policyPath = join(dir, 'policy.json');
    this.podmanTmp = join(dir, 'podman-tmp');
    this.tmp = join(dir, 'tmp');
  }

  static async create(prefix = 'zot-clients-'): Promise<ClientSandbox> {
    const sandbox = new ClientSandbox(await mkdtemp(join(tmpdir(), prefix)));
    for (const dir of [sandbox.root, sandbox.runroot, sandbox.home, sandbox.podmanTmp, sandbox.tmp]) {
      await mkdir(dir, { recursive: true });
    }
    // The clients refuse a REGISTRY_AUTH_FILE that does not exist.
    await writeFile(sandbox.authFile, JSON.stringify({ auths: {} }));
    // Our own policy, so a host /etc/containers/policy.json that demands signatures cannot interfere.
    await writeFile(sandbox.policyPath, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    return sandbox;
  }

  /** A fresh folder inside the sandbox (for layouts, dir: targets, copies). */
  async makeDir(name: string): Promise<string> {
    const dir = await mkdtemp(join(this.dir, `${name}-`));
    return dir;
  }

  get env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: this.home,
      REGISTRY_AUTH_FILE: this.authFile,
      TMPDIR: this.tmp,
      XDG_CONFIG_HOME: join(this.home, '.config'),
      XDG_DATA_HOME: join(this.home, '.local', 'share'),
    };
    delete env.NODE_TEST_CONTEXT;
    delete env.DOCKER_CONFIG;
    delete env.CONTAINERS_STORAGE_CONF;
    return env;
  }

  /** A `containers-storage:` reference into this sandbox's storage, for skopeo. */
  storageRef(image: string): string {
    return `containers-storage:[vfs@${this.root}+${this.runroot}]${image}`;
  }

  private globalArgs(tool: ClientTool): string[] {
    const storage = ['--root', this.root, '--runroot', this.runroot, '--storage-driver', 'vfs'];
    switch (tool) {
      case 'skopeo':
        return ['--policy', this.policyPath];
      case 'buildah':
        return storage;
      case 'podman':
        // file events and cgroupfs: no systemd or journald in a CI container.
        return [...storage, '--tmpdir', this.podmanTmp, '--events-backend', 'file', '--cgroup-manager', 'cgroupfs'];
      case 'umoci':
        return [];
    }
  }

  /** Runs a client with the sandbox's storage and environment. Throws `CommandError` on failure. */
  run(tool: ClientTool, args: string[], options: RunOptions = {}): Promise<RunResult> {
    return runCommand(tool, [...this.globalArgs(tool), ...args], { ...options, env: this.env });
  }

  skopeo(...args: string[]): Promise<RunResult> {
    return this.run('skopeo', args);
  }

  podman(...args: string[]): Promise<RunResult> {
    return this.run('podman', args);
  }

  buildah(...args: string[]): Promise<RunResult> {
    return this.run('buildah', args);
  }

  umoci(...args: string[]): Promise<RunResult> {
    return this.run('umoci', args);
  }

  /**
   * Builds `name` (e.g. `localhost/app:1`) with `buildah from scratch`, one `buildah copy` per file of random
   * bytes, and `buildah commit`. Returns the image ID (the config digest's hex).
   */
  async buildImage(name: string, options: { files?: number; fileSize?: number; platform?: Platform } = {}): Promise<string> {
    const files = options.files ?? 2;
    const fileSize = options.fileSize ?? 64 * 1024;
    const platform = options.platform ?? hostPlatform();
    const container = (await this.buildah('from', '--quiet', 'scratch')).stdout.trim();
    const source = await this.makeDir('build-context');
    for (let i = 0; i < files; i += 1) {
      const file = join(source, `file-${i}.bin`);
      await writeFile(file, randomBytes(fileSize));
      // One copy per file: each `buildah copy` becomes its own layer at commit time.
      await this.buildah('copy', '--quiet', container, file, `/data/file-${i}.bin`);
    }
    const configArgs = ['--arch', platform.architecture, '--os', platform.os];
    if (platform.variant) configArgs.push('--variant', platform.variant);
    await this.buildah('config', ...configArgs, '--created-by', 'zot-ts test', container);
    const id = (await this.buildah('commit', '--quiet', '--format', 'oci', container, name)).stdout.trim();
    await this.buildah('rm', container);
    await rm(source, { recursive: true, force: true });
    return id;
  }

  /**
   * Builds one image per platform (`NAME-ARCH`) and a buildah manifest list `listName` holding them all, ready
   * for `buildah manifest push --all`.
   */
  async buildMultiArch(listName: string, platforms: Platform[], options: { files?: number; fileSize?: number } = {}): Promise<string[]> {
    await this.buildah('manifest', 'create', listName);
    const images: string[] = [];
    for (const platform of platforms) {
      const suffix = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('-');
      const image = `${listName.replace(/:[^/]*$/, '')}:${suffix}`;
      await this.buildImage(image, { ...options, platform });
      const addArgs = ['--arch', platform.architecture, '--os', platform.os];
      if (platform.variant) addArgs.push('--variant', platform.variant);
      await this.buildah('manifest', 'add', ...addArgs, listName, image);
      images.push(image);
    }
    return images;
  }

  async cleanup(): Promise<void> {
    if (process.env.ZOT_TEST_KEEP === '1') return;
    await rm(this.dir, { recursive: true, force: true });
  }
}
