// Request-rate measurements. GET: autocannon or wrk. HEAD: ApacheBench (`ab -i -k`), because both
// Debian's wrk 4.1 and autocannon 8 wait for a body after a HEAD answer that carries Content-Length
// and stall. Each tool runs as a child process so its CPU is its own, not the harness's.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from './processes.mjs';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

export function autocannonBin() {
  try {
    const require = createRequire(join(BENCH_DIR, 'package.json'));
    const main = require.resolve('autocannon/autocannon.js');
    return existsSync(main) ? main : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @param {{ url: string, method?: string, headers?: Record<string,string>, connections: number,
 *           duration: number, ca?: string, caFile?: string, tool?: 'autocannon'|'wrk' }} spec
 * @returns {Promise<{ tool: string, rps: number, p50: number, p99: number, requests: number, non2xx: number, errors: number }>}
 */
export async function measureRate(spec) {
  const method = spec.method ?? 'GET';
  if (method === 'HEAD') return runAb(spec);
  if (method !== 'GET') throw new Error(`no load tool for ${method}`);
  return spec.tool === 'wrk' ? runWrk(spec) : runAutocannon({ ...spec, method });
}

async function runAutocannon({ url, method, headers = {}, connections, duration, caFile }) {
  const args = [autocannonBin(), '--json', '-c', String(connections), '-d', String(duration), '-m', method];
  // K=V form: autocannon splits at the first '=' or ':', and header values here contain neither before the value.
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  const env = { ...process.env, ...(caFile ? { NODE_EXTRA_CA_CERTS: caFile } : {}) };
  const { code, stdout, stderr } = await runCommand(process.execPath, args, { env, timeoutMs: (duration + 60) * 1000 });
  let r;
  try {
    r = JSON.parse(stdout.trim().split('\n').pop());
  } catch {
    throw new Error(`autocannon failed (exit ${code}): ${stderr.slice(-500)}`);
  }
  return {
    tool: 'autocannon',
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

const WRK_UNITS = { us: 1e-3, ms: 1, s: 1000, m: 60000 };
const wrkMs = (text) => {
  const m = /([\d.]+)(us|ms|s|m)\b/.exec(text);
  return m ? Number(m[1]) * WRK_UNITS[m[2]] : undefined;
};

async function runWrk({ url, headers = {}, connections, duration }) {
  // One thread: wrk's event loop drives far more requests than one registry core serves, and the
  // second core stays with the server.
  const args = ['-t', '1', '-c', String(connections), '-d', `${duration}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const { code, stdout, stderr } = await runCommand('wrk', args, { timeoutMs: (duration + 60) * 1000 });
  if (code !== 0) throw new Error(`wrk failed (exit ${code}): ${stderr.slice(-500)}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const p50 = wrkMs(/^\s+50%\s+(\S+)/m.exec(stdout)?.[1] ?? '');
  const p99 = wrkMs(/^\s+99%\s+(\S+)/m.exec(stdout)?.[1] ?? '');
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const errors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk's output:\n${stdout}`);
  return { tool: 'wrk', rps, p50, p99, requests, non2xx, errors };
}

async function runAb({ url, headers = {}, connections, duration }) {
  // -t bounds the time; -n lifts ab's default cap of 50000 requests under -t.
  const args = ['-i', '-k', '-q', '-c', String(connections), '-t', String(duration), '-n', '100000000'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const { code, stdout, stderr } = await runCommand('ab', args, { timeoutMs: (duration + 60) * 1000 });
  if (code !== 0) throw new Error(`ab failed (exit ${code}): ${stderr.slice(-500)}`);
  const rps = Number(/Requests per second:\s+([\d.]+)/.exec(stdout)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`cannot read ab's output:\n${stdout}`);
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\d+)`, 'm').exec(stdout);
    return m ? Number(m[1]) : undefined;
  };
  return {
    tool: 'ab',
    rps,
    p50: pct(50),
    p99: pct(99),
    requests: Number(/Complete requests:\s+(\d+)/.exec(stdout)?.[1] ?? 0),
    non2xx: Number(/Non-2xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0),
    errors: Number(/Failed requests:\s+(\d+)/.exec(stdout)?.[1] ?? 0),
  };
}
