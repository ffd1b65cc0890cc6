/** Shared pieces of the server tests: a real server on a free port, raw HTTP, generated blobs. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { OciLayoutStorage } from '@zotjs/storage-oci-layout';
import { pino } from 'pino';
import { createServer, type RegistryServer, type ServerConfig } from '../../src/index.js';

export interface Harness {
  url: string;
  rootDirectory: string;
  server: RegistryServer;
  /** Parsed request-log records written so far. */
  logs(): Array<Record<string, unknown>>;
  /** Raw log text, to check that secrets never appear. */
  rawLogs(): string;
  close(): Promise<void>;
}

export async function startHarness(config: Partial<ServerConfig> = {}): Promise<Harness> {
  const rootDirectory = mkdtempSync(join(tmpdir(), 'zot-server-test-'));
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  });
  const storage = config.registry ? {} : { storage: config.storage ?? new OciLayoutStorage({ rootDirectory }) };
  const server = createServer({ port: 0, logger: pino({ level: 'debug' }, sink), ...config, ...storage });
  const { url } = await server.listen();
  return {
    url,
    rootDirectory,
    server,
    rawLogs: () => text,
    logs: () =>
      text
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    async close() {
      await server.close(2000);
      rmSync(rootDirectory, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request with node's own client (no fetch magic: HEAD bodies, exact headers). */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string | Readable } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      collect(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject);
    });
    req.on('error', reject);
    const { body } = options;
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

export async function collect(res: IncomingMessage | Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const BLOCK = 1 << 20;

/**
 * `size` bytes of deterministic pseudo-random data, produced lazily one MiB at a time (each MiB
 * is the hash-chain expansion of `seed` and its index), so tests move large blobs without holding them.
 */
export function generated(size: number, seed = 'zot'): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: BLOCK,
    read() {
      if (offset >= size) {
        this.push(null);
        return;
      }
      const length = Math.min(BLOCK, size - offset);
      this.push(block(seed, offset / BLOCK).subarray(0, length));
      offset += length;
    },
  });
}

function block(seed: string, index: number): Buffer {
  const out = Buffer.allocUnsafe(BLOCK);
  let state = createHash('sha256').update(`${seed}:${index}`).digest();
  for (let i = 0; i < BLOCK; i += 32) {
    state.copy(out, i);
    // Cheap variation per 32 bytes: xor the position in, so blocks do not repeat.
    out.writeUInt32LE((state.readUInt32LE(0) ^ i) >>> 0, i);
    if (i % 4096 === 0) state = createHash('sha256').update(state).digest();
  }
  return out;
}

/** Digest and size of a stream, read chunk by chunk. */
export async function digestOfStream(stream: Readable): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Pushes a small blob in one request; returns its digest. */
export async function pushBlob(url: string, repository: string, data: Buffer | string): Promise<string> {
  const digest = sha256(data);
  const res = await send(`${url}/v2/${repository}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: Buffer.from(data),
  });
  if (res.status !== 201) throw new Error(`push blob: ${res.status} ${res.body.toString()}`);
  return digest;
}

/** Samples a number while `work` runs; resolves to the work's result and the largest sample. */
export async function peakDuring<T>(sample: () => number, work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = sample();
  const timer = setInterval(() => (peak = Math.max(peak, sample())), 5);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, sample()) };
  } finally {
    clearInterval(timer);
  }
}
