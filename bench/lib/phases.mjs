// The measured phases. Each phase may prepare fixtures once per server (untimed), then runs once per
// repetition per server; the harness wraps every run in an RSS sampler of that server's process.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OCI_MANIFEST, pushImage, smallImage, writeOciLayout } from './fixtures.mjs';
import { measureRate } from './loadgen.mjs';
import { runCommand } from './processes.mjs';

const seconds = (startNs) => Number(process.hrtime.bigint() - startNs) / 1e9;

/** Lets the kernel write back what the last run left dirty, so the next run does not pay for it. */
const settle = () => runCommand('sync', []);

// ---- blob transfers ----------------------------------------------------------------------------

/**
 * The storage path's own limit: the blob copied by `dd` into the work folder (same filesystem as both
 * registries' storage) with an fsync at the end, as both registries fsync an uploaded blob before
 * acknowledging it.
 */
const diskWrite = {
  id: 'dd',
  name: 'dd write+fsync',
  async run(ctx) {
    const target = join(ctx.passDir, 'dd-copy.bin');
    const start = process.hrtime.bigint();
    const r = await runCommand('dd', [`if=${ctx.blob.file}`, `of=${target}`, 'bs=1M', 'conv=fsync']);
    const s = seconds(start);
    rmSync(target, { force: true });
    if (r.code !== 0) throw new Error(`dd failed: ${r.stderr.trim()}`);
    await settle();
    return { mbps: ctx.blob.size / s / 1e6, seconds: s };
  },
};

/**
 * What a Node server reaches with the same upload by the same client (servers/sink-server.mjs):
 * `receive` only takes the bytes in (the transport's limit); `store` does the least a registry must
 * (write, hash on a worker thread, fsync, compare the digest), with no framework or registry logic.
 */
const nodeReference = (mode, upload) => ({
  id: mode,
  name: `node:http ${mode}`,
  async run(ctx, rep) {
    const { blob, options } = ctx;
    const client = ctx.sinks[mode].client;
    const start = process.hrtime.bigint();
    if (upload === 'monolithic') await client.pushMonolithic(`sink/${rep}`, blob);
    else await client.pushChunked(`sink/${rep}`, { ...blob, chunk: options.chunk });
    const s = seconds(start);
    if (mode === 'store') await settle();
    return { mbps: blob.size / s / 1e6, seconds: s };
  },
});

const push = {
  id: 'push',
  title: 'monolithic push',
  async run(ctx, server, rep) {
    const { blob } = ctx;
    const repo = `bench/push-${rep}`;
    const start = process.hrtime.bigint();
    await server.client.pushMonolithic(repo, blob);
    const s = seconds(start);
    return { mbps: blob.size / s / 1e6, seconds: s, cleanup: () => server.client.deleteBlob(repo, blob.digest) };
  },
  after: settle,
  references: [diskWrite, nodeReference('receive', 'monolithic'), nodeReference('store', 'monolithic')],
};

const chunked = {
  id: 'chunked',
  title: 'chunked push',
  async run(ctx, server, rep) {
    const { blob, options } = ctx;
    const repo = `bench/chunked-${rep}`;
    const start = process.hrtime.bigint();
    await server.client.pushChunked(repo, { ...blob, chunk: options.chunk });
    const s = seconds(start);
    return { mbps: blob.size / s / 1e6, seconds: s, cleanup: () => server.client.deleteBlob(repo, blob.digest) };
  },
  after: settle,
  references: [diskWrite, nodeReference('receive', 'chunked'), nodeReference('store', 'chunked')],
};

const pull = {
  id: 'pull',
  title: 'blob pull',
  async prepare(ctx, server) {
    await server.client.pushMonolithic('bench/pull', ctx.blob);
    await settle();
    await server.client.pullBlob('bench/pull', ctx.blob.digest); // page cache warm, as for nginx
  },
  async prepareReference(ctx) {
    await ctx.nginxClient.download(ctx.nginx.url);
  },
  async run(ctx, server) {
    const start = process.hrtime.bigint();
    const bytes = await server.client.pullBlob('bench/pull', ctx.blob.digest);
    const s = seconds(start);
    if (bytes !== ctx.blob.size) throw new Error(`pulled ${bytes} bytes, expected ${ctx.blob.size}`);
    return { mbps: bytes / s / 1e6, seconds: s };
  },
  references: [
    {
      /** The same file from nginx: the physical reference for pulls. */
      id: 'nginx',
      name: 'nginx',
      async run(ctx) {
        const start = process.hrtime.bigint();
        const bytes = await ctx.nginxClient.download(ctx.nginx.url);
        const s = seconds(start);
        return { mbps: bytes / s / 1e6, seconds: s };
      },
    },
  ],
};

// ---- request rates -----------------------------------------------------------------------------

/** Pushes the small image every rate phase reads, once per server and pass. */
async function ensureSmallImage(_ctx, server) {
  if (server.smallImage) return server.smallImage;
  const image = smallImage(1024);
  await pushImage(server.client, 'bench/small', image, ['latest']);
  server.smallImage = image;
  return image;
}

function rateSpec(ctx, server, path, { method = 'GET', headers = {} } = {}) {
  const allHeaders = { ...headers };
  if (ctx.pass.auth) allHeaders.Authorization = ctx.pass.auth.header;
  return {
    url: `${server.baseUrl}${path}`,
    method,
    headers: allHeaders,
    connections: ctx.options.connections,
    duration: ctx.options.duration,
    caFile: ctx.pass.tls?.caFile,
    tool: ctx.options.loadgen,
  };
}

function ratePhase({ id, title, setup, request }) {
  return {
    id,
    title,
    rate: true,
    async prepare(ctx, server) {
      await setup(ctx, server);
      const spec = rateSpec(ctx, server, ...request(ctx, server));
      // Warm-up (JIT, connection pools, caches): not measured.
      const warm = await measureRate({ ...spec, duration: 1 });
      if (warm.requests === 0) throw new Error(`${title}: no request succeeded during warm-up`);
    },
    async run(ctx, server) {
      const r = await measureRate(rateSpec(ctx, server, ...request(ctx, server)));
      const warnings = [];
      if (r.non2xx > 0) warnings.push(`${r.non2xx} non-2xx answers`);
      if (r.errors > 0) warnings.push(`${r.errors} socket errors/timeouts`);
      return { rps: r.rps, p50: r.p50, p99: r.p99, requests: r.requests, tool: r.tool, warnings };
    },
  };
}

const manifest = ratePhase({
  id: 'manifest',
  title: 'manifest GET by tag',
  setup: ensureSmallImage,
  request: () => ['/v2/bench/small/manifests/latest', { headers: { Accept: OCI_MANIFEST } }],
});

const head = ratePhase({
  id: 'head',
  title: 'blob HEAD',
  setup: ensureSmallImage,
  request: (_ctx, server) => [`/v2/bench/small/blobs/${server.smallImage.layer.digest}`, { method: 'HEAD' }],
});

const tags = ratePhase({
  id: 'tags',
  title: 'tags list',
  async setup(ctx, server) {
    const n = ctx.options.tags;
    const names = Array.from({ length: n }, (_, i) => `t${String(i).padStart(5, '0')}`);
    // One PUT at a time: the fixture is not what is measured (concurrent tag pushes are skopeo's phase).
    await pushImage(server.client, 'bench/tags', smallImage(1024), names, 1);
    const list = await server.client.getJson('/v2/bench/tags/tags/list');
    if (list.tags?.length !== n) throw new Error(`tags list returned ${list.tags?.length} tags, expected ${n}`);
  },
  request: () => ['/v2/bench/tags/tags/list'],
});

// ---- skopeo --------------------------------------------------------------------------------------

const skopeo = {
  id: 'skopeo',
  title: 'concurrent skopeo pushes',
  /** Distinct images for every server and repetition, so no blob is already known anywhere. */
  prepareRep(ctx, server, rep) {
    const dir = join(ctx.passDir, 'skopeo', `${server.name}-${rep}`);
    mkdirSync(dir, { recursive: true });
    const layouts = [];
    for (let i = 0; i < ctx.options.pushes; i++) {
      const layout = join(dir, `image-${i}`);
      writeOciLayout(layout, smallImage(ctx.options.smallLayerSize), 'latest');
      layouts.push(layout);
    }
    return { dir, layouts };
  },
  async run(ctx, server, rep, { layouts }) {
    const host = new URL(server.baseUrl).host;
    const common = ['copy', '--quiet'];
    if (ctx.pass.tls) common.push('--dest-cert-dir', ctx.pass.tls.certDir);
    else common.push('--dest-tls-verify=false');
    if (ctx.pass.auth) common.push('--dest-creds', `${ctx.pass.auth.username}:${ctx.pass.auth.password}`);
    // A private HOME and auth file: no stored login of this machine takes part.
    const env = { ...process.env, HOME: ctx.skopeoHome, REGISTRY_AUTH_FILE: join(ctx.skopeoHome, 'auth.json') };
    const start = process.hrtime.bigint();
    const results = await Promise.all(
      layouts.map((layout, i) =>
        runCommand('skopeo', [...common, `oci:${layout}:latest`, `docker://${host}/bench/skopeo-${rep}-${i}:latest`], { env }),
      ),
    );
    const s = seconds(start);
    const failed = results.filter((r) => r.code !== 0);
    if (failed.length > 0) throw new Error(`${failed.length} skopeo pushes failed: ${failed[0].stderr.trim().slice(-400)}`);
    return { seconds: s };
  },
  afterRep(_ctx, _server, _rep, { dir }) {
    rmSync(dir, { recursive: true, force: true });
  },
};

// ---- big blob ------------------------------------------------------------------------------------

const big = {
  id: 'big',
  title: 'big blob push + pull',
  plainOnly: true,
  reps: 1,
  async run(ctx, server) {
    const { bigBlob } = ctx;
    const repo = 'bench/big';
    let start = process.hrtime.bigint();
    await server.client.pushMonolithic(repo, bigBlob);
    const pushSeconds = seconds(start);
    start = process.hrtime.bigint();
    const bytes = await server.client.pullBlob(repo, bigBlob.digest);
    const pullSeconds = seconds(start);
    if (bytes !== bigBlob.size) throw new Error(`pulled ${bytes} bytes, expected ${bigBlob.size}`);
    return {
      pushMbps: bigBlob.size / pushSeconds / 1e6,
      pullMbps: bigBlob.size / pullSeconds / 1e6,
      cleanup: () => server.client.deleteBlob(repo, bigBlob.digest),
    };
  },
  after: settle,
};

export const PHASES = { push, chunked, pull, manifest, head, tags, skopeo, big };
