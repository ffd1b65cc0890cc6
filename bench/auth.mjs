#!/usr/bin/env node
// Token-auth figures (issue 18), each a ratio measured in the same run on this machine:
//   - bearer-authenticated manifest GET vs the same GET on a registry without auth (target >= 0.8x);
//   - token issuance for an already-verified (cached) htpasswd user, requests/s (target >= 1,000/s);
//   - API-key basic logins vs cached htpasswd basic logins on GET /v2/ (target >= 0.5x, "within 2x").
// Two `zot-cli serve` processes on loopback (plain and token-auth), loaded with wrk (1 thread,
// --connections), --reps repetitions alternating the order, medians reported. Not a test: it
// prints what it measured and fails only when something could not run.
//   node bench/auth.mjs [--reps 3] [--duration 5] [--connections 64] [--json out.json]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureRate } from './lib/loadgen.mjs';
import { freePort } from './lib/servers/common.mjs';
import { startProcess, stopAll, installCleanup } from './lib/processes.mjs';
import { ZOT_CLI, shebangOf } from './lib/servers/zot.mjs';

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '64' },
    json: { type: 'string' },
  },
});
const reps = Number(args.reps);
const duration = Number(args.duration);
const connections = Number(args.connections);

installCleanup();
const dir = mkdtempSync(join(tmpdir(), 'zot-bench-auth-'));
const PASSWORD = 'bench-Secret-1';
execFileSync('htpasswd', ['-Bbc', join(dir, 'htpasswd'), 'alice', PASSWORD], { stdio: 'ignore' });
execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'signing.pem')]);

async function startServer(name, auth) {
  const port = await freePort();
  const http = { address: '127.0.0.1', port: String(port) };
  if (auth) {
    http.auth = {
      htpasswd: { path: join(dir, 'htpasswd') },
      bearer: { service: 'bench' },
      tokenService: { signingKeys: join(dir, 'signing.pem'), accessTokenExpiry: '1h' },
      apikey: true,
    };
  }
  const config = { storage: { rootDirectory: join(dir, name, 'storage') }, http, log: { level: 'warn' } };
  const configFile = join(dir, `${name}.json`);
  writeFileSync(configFile, JSON.stringify(config));
  const launcher = shebangOf(ZOT_CLI);
  const handle = startProcess(name, process.execPath, [...launcher.nodeArgs, ZOT_CLI, 'serve', configFile], {
    cwd: dir,
    logFile: join(dir, `${name}.log`),
    env: { ...process.env, ...launcher.env },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(`${url}/v2/`);
      break;
    } catch {
      if (i > 200) throw new Error(`${name} did not start (log: ${join(dir, `${name}.log`)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, handle };
}

const sha = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Pushes a small image to `app:v1`; returns the manifest's media type. */
async function pushImage(url, headers) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const layer = Buffer.alloc(4096, 7);
  for (const blob of [config, layer]) {
    const r = await fetch(`${url}/v2/bench/app/blobs/uploads/?digest=${sha(blob)}`, { method: 'POST', headers, body: blob });
    if (r.status !== 201) throw new Error(`blob push answered ${r.status}`);
  }
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }],
  });
  const r = await fetch(`${url}/v2/bench/app/manifests/v1`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': mediaType },
    body: manifest,
  });
  if (r.status !== 201) throw new Error(`manifest push answered ${r.status}`);
  return mediaType;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function rate(url, headers) {
  const r = await measureRate({ url, headers, connections, duration, tool: 'wrk' });
  if (r.non2xx > 0) throw new Error(`${url}: ${r.non2xx} non-2xx answers`);
  // Socket errors (wrk's 2 s timeouts under load) are reported, not hidden: the rate counts answered requests only.
  if (r.errors > 0) console.error(`  (${r.errors} socket errors of ${r.requests} requests: ${url.replace(/^http:\/\/[^/]+/, '')})`);
  return r.rps;
}

try {
  const plain = await startServer('plain', false);
  const secured = await startServer('token-auth', true);
  const basic = (password) => `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`;
  const tokenUrl = `${secured.url}/zot/auth/token?service=bench&scope=repository:bench/app:pull,push`;
  const { token } = await (await fetch(tokenUrl, { headers: { authorization: basic(PASSWORD) } })).json();
  const mediaType = await pushImage(plain.url, {});
  await pushImage(secured.url, { authorization: `Bearer ${token}` });
  const created = await fetch(`${secured.url}/zot/auth/apikey`, {
    method: 'POST',
    headers: { authorization: basic(PASSWORD), 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'bench' }),
  });
  const { apiKey } = await created.json();
  const accept = { accept: mediaType };

  const figures = { unauthenticatedGet: [], bearerGet: [], tokenIssuance: [], htpasswdLogin: [], apiKeyLogin: [] };
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0;
    const gets = [
      ['unauthenticatedGet', () => rate(`${plain.url}/v2/bench/app/manifests/v1`, accept)],
      ['bearerGet', () => rate(`${secured.url}/v2/bench/app/manifests/v1`, { ...accept, authorization: `Bearer ${token}` })],
    ];
    const logins = [
      ['htpasswdLogin', () => rate(`${secured.url}/v2/`, { authorization: basic(PASSWORD) })],
      ['apiKeyLogin', () => rate(`${secured.url}/v2/`, { authorization: basic(apiKey) })],
    ];
    for (const [key, run] of [...(order ? gets : gets.reverse()), ...(order ? logins : logins.reverse())]) figures[key].push(await run());
    figures.tokenIssuance.push(await rate(tokenUrl, { authorization: basic(PASSWORD) }));
  }
  const m = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, median(v)]));
  const result = {
    connections,
    durationSeconds: duration,
    reps,
    requestsPerSecond: m,
    bearerGetRatio: m.bearerGet / m.unauthenticatedGet,
    tokenIssuancePerSecond: m.tokenIssuance,
    apiKeyLoginRatio: m.apiKeyLogin / m.htpasswdLogin,
  };
  const fmt = (n) => n.toFixed(0).padStart(8);
  console.log(`zot-ts token auth, ${connections} connections, ${duration} s per run, median of ${reps}`);
  console.log(`  manifest GET, no auth            ${fmt(m.unauthenticatedGet)} req/s`);
  console.log(
    `  manifest GET, bearer token       ${fmt(m.bearerGet)} req/s   ratio ${result.bearerGetRatio.toFixed(2)}x (target >= 0.80x)`,
  );
  console.log(`  token issuance (cached login)    ${fmt(m.tokenIssuance)} req/s   (target >= 1000/s)`);
  console.log(`  GET /v2/, cached htpasswd login  ${fmt(m.htpasswdLogin)} req/s`);
  console.log(
    `  GET /v2/, API-key login          ${fmt(m.apiKeyLogin)} req/s   ratio ${result.apiKeyLoginRatio.toFixed(2)}x (target >= 0.50x)`,
  );
  if (args.json) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
