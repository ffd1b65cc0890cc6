#!/usr/bin/env node
// S3 storage benchmark: one zot-ts on the OCI-layout backend and one on the S3 backend (a throw-away single-node
// Ceph RADOS Gateway started by scripts/ceph/), same machine, same blob; monolithic push, chunked push and pull in
// MB/s, medians of N repetitions. Also a push split across two S3 replicas (PATCH on one, PUT on the other).
//
//   node bench/s3.mjs [--size 256M] [--chunk 16M] [--reps 3] [--json FILE]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRandomFile } from './lib/fixtures.mjs';
import { parseSize } from './lib/options.mjs';
import { startProcess, installCleanup, stopAll } from './lib/processes.mjs';
import { RegistryClient } from './lib/registry-client.mjs';
import { answeringOrStopped, freePort } from './lib/servers/common.mjs';
import { REPO_ROOT, ZOT_CLI, zotMissingReason } from './lib/servers/zot.mjs';
import { median } from './lib/stats.mjs';

const log = (message) => process.stderr.write(`bench-s3: ${message}\n`);

function parseArgs(argv) {
  const options = { size: 256 * 1024 * 1024, chunk: 16 * 1024 * 1024, reps: 3, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--size') options.size = parseSize(value);
    else if (name === '--chunk') options.chunk = parseSize(value);
    else if (name === '--reps') options.reps = Number(value);
    else if (name === '--json') options.json = value;
    else throw new Error(`unknown option ${name}`);
    i++;
  }
  return options;
}

async function startZotWith(dir, storage) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = { distSpecVersion: '1.1.0', storage, http: { address: '127.0.0.1', port: String(port) }, log: { level: 'warn' } };
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const handle = startProcess('zot-ts', process.execPath, [ZOT_CLI, 'serve', configFile], {
    cwd: dir,
    logFile: join(dir, 'server.log'),
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await answeringOrStopped(handle, `${baseUrl}/v2/`);
  return { handle, baseUrl, client: new RegistryClient({ baseUrl }) };
}

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

async function measure(name, reps, run) {
  const rates = [];
  for (let rep = 0; rep < reps; rep++) rates.push(await run(rep));
  const mbps = median(rates);
  log(`${name}: ${mbps.toFixed(0)} MB/s (runs: ${rates.map((r) => r.toFixed(0)).join(', ')})`);
  return mbps;
}

/** PATCH the first half through `a`, PUT the rest through `b`: the session moves between replicas. */
async function pushSplit(a, b, repo, blob, data) {
  const start = await fetch(`${a.baseUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  const location = start.headers.get('location');
  const half = Math.floor(data.length / 2);
  const patch = await fetch(new URL(location, a.baseUrl), {
    method: 'PATCH',
    headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${half - 1}` },
    body: data.subarray(0, half),
  });
  if (patch.status !== 202) throw new Error(`PATCH: ${patch.status} ${await patch.text()}`);
  const url = new URL(patch.headers.get('location'), b.baseUrl);
  url.searchParams.set('digest', blob.digest);
  const put = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-range': `${half}-${data.length - 1}` },
    body: data.subarray(half),
  });
  if (put.status !== 201) throw new Error(`PUT: ${put.status} ${await put.text()}`);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const missing = zotMissingReason();
  if (missing) throw new Error(missing);
  const ceph = await import(pathToFileURL(join(REPO_ROOT, 'scripts', 'ceph', 'ceph.mjs')).href);
  const unavailable = ceph.cephUnavailable();
  if (unavailable) throw new Error(unavailable);
  const work = mkdtempSync(join(tmpdir(), 'zot-bench-s3-'));
  installCleanup(() => undefined);
  log(`blob ${(options.size / 1e6).toFixed(0)} MB, chunks ${(options.chunk / 1e6).toFixed(0)} MB, ${options.reps} runs each`);
  const blob = await createRandomFile(join(work, 'blob.bin'), options.size);
  log('starting Ceph');
  const cluster = await ceph.startCeph();
  const results = {};
  try {
    await cluster.createBucket('bench');
    const driver = {
      name: 's3',
      bucket: 'bench',
      region: cluster.region,
      regionendpoint: cluster.endpoint,
      forcepathstyle: true,
      accesskey: cluster.accessKeyId,
      secretkey: cluster.secretAccessKey,
      rootdirectory: 'zot',
    };
    const servers = {
      'oci-layout': await startZotWith(join(work, 'layout'), { rootDirectory: join(work, 'layout', 'data') }),
      s3: await startZotWith(join(work, 's3'), { rootDirectory: join(work, 's3', 'data'), storageDriver: driver }),
    };
    const replica = await startZotWith(join(work, 's3-b'), { rootDirectory: join(work, 's3-b', 'data'), storageDriver: driver });
    for (const [name, server] of Object.entries(servers)) {
      const r = (results[name] = {});
      r.pushMBps = await measure(`${name} monolithic push`, options.reps, async (rep) => {
        const t = process.hrtime.bigint();
        await server.client.pushMonolithic(`bench/push-${rep}`, blob);
        return blob.size / seconds(t) / 1e6;
      });
      r.chunkedMBps = await measure(`${name} chunked push`, options.reps, async (rep) => {
        const t = process.hrtime.bigint();
        await server.client.pushChunked(`bench/chunked-${rep}`, { ...blob, chunk: options.chunk });
        return blob.size / seconds(t) / 1e6;
      });
      r.pullMBps = await measure(`${name} pull`, options.reps, async () => {
        const t = process.hrtime.bigint();
        const bytes = await server.client.pullBlob('bench/push-0', blob.digest);
        if (bytes !== blob.size) throw new Error(`pulled ${bytes} bytes, expected ${blob.size}`);
        return bytes / seconds(t) / 1e6;
      });
    }
    const { readFile } = await import('node:fs/promises');
    const data = await readFile(blob.file);
    results.s3.splitPushMBps = await measure(
      's3 push split across two replicas (PATCH on one, PUT on the other)',
      options.reps,
      async (rep) => {
        const t = process.hrtime.bigint();
        await pushSplit(servers.s3, replica, `bench/split-${rep}`, blob, data);
        return blob.size / seconds(t) / 1e6;
      },
    );
  } finally {
    await stopAll();
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const rows = [
    ['', 'push MB/s', 'chunked push MB/s', 'pull MB/s'],
    ...Object.entries(results).map(([name, r]) => [name, r.pushMBps.toFixed(0), r.chunkedMBps.toFixed(0), r.pullMBps.toFixed(0)]),
  ];
  process.stdout.write(`\n${rows.map((row) => row.map((c, i) => String(c).padEnd(i === 0 ? 12 : 20)).join('')).join('\n')}\n`);
  process.stdout.write(`s3 push split across two replicas: ${results.s3.splitPushMBps.toFixed(0)} MB/s\n`);
  if (options.json) writeFileSync(options.json, `${JSON.stringify({ size: options.size, chunk: options.chunk, results }, null, 2)}\n`);
}

main().catch(async (err) => {
  log(err.stack ?? String(err));
  await stopAll().catch(() => undefined);
  process.exit(1);
});
