// A minimal distribution-spec client for the benchmark: blob uploads streamed from a file
// (monolithic POST + PUT ?digest=, or PATCH chunks), blob pulls whose bytes are counted and dropped,
// manifest pushes. Keep-alive connections; no `Expect: 100-continue`.
import { open } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { curlTransfer } from './curl.mjs';

const READ_BUFFER = 1024 * 1024;
const READ_BUFFERS = 4;

/**
 * Sends bytes `start`..`end` (inclusive) of `file` as `req`'s body and ends it. A few buffers are
 * filled and sent in turn, each reused once the socket took it: a stream of fresh 1 MiB buffers
 * (fs.createReadStream piped into the request) costs a whole core at ~250 MB/s, which on two cores
 * would measure the client rather than the server.
 */
async function sendFileRange(req, file, start, end) {
  const handle = await open(file, 'r');
  try {
    const buffers = Array.from({ length: READ_BUFFERS }, () => Buffer.allocUnsafe(READ_BUFFER));
    const sent = new Array(READ_BUFFERS).fill(undefined);
    for (let offset = start, i = 0; offset <= end; i = (i + 1) % READ_BUFFERS) {
      await sent[i];
      const { bytesRead } = await handle.read(buffers[i], 0, Math.min(READ_BUFFER, end - offset + 1), offset);
      if (bytesRead === 0) throw new Error(`${file} ends before byte ${end}`);
      const chunk = buffers[i].subarray(0, bytesRead);
      sent[i] = new Promise((resolve, reject) => req.write(chunk, (err) => (err ? reject(err) : resolve())));
      offset += bytesRead;
    }
    await Promise.all(sent);
    req.end();
  } finally {
    await handle.close();
  }
}

export class HttpStatusError extends Error {
  constructor(method, url, status, body) {
    super(`${method} ${url} -> ${status}${body ? `: ${body.slice(0, 300)}` : ''}`);
    this.status = status;
  }
}

export class RegistryClient {
  /**
   * @param {{ baseUrl: string, ca?: string, caFile?: string, authorization?: string, transfer?: 'curl'|'node' }} options
   * `transfer`: what moves big blob bodies (monolithic push, pull); chunked uploads always use Node.
   */
  constructor({ baseUrl, ca, caFile, authorization, transfer = 'curl' }) {
    this.caFile = caFile;
    this.transfer = transfer;
    this.base = new URL(baseUrl);
    this.secure = this.base.protocol === 'https:';
    const Agent = this.secure ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 32, ...(ca ? { ca } : {}) });
    this.authorization = authorization;
  }

  close() {
    this.agent.destroy();
  }

  /**
   * One request. `body` is a Buffer or a file range `{ file, start, end }` (then `headers` must carry
   * Content-Length).
   * Resolves { status, headers, body (Buffer, unless discardBody), bytes }.
   */
  request(method, target, { headers = {}, body, discardBody = false, expect } = {}) {
    const url = new URL(target, this.base);
    const allHeaders = { ...headers };
    if (this.authorization) allHeaders.authorization = this.authorization;
    if (Buffer.isBuffer(body)) allHeaders['content-length'] = String(body.length);
    else if (!body && (method === 'PUT' || method === 'POST' || method === 'PATCH')) allHeaders['content-length'] = '0';
    const mod = this.secure ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers: allHeaders, agent: this.agent }, (res) => {
        const chunks = [];
        let bytes = 0;
        res.on('data', (chunk) => {
          bytes += chunk.length;
          if (!discardBody) chunks.push(chunk);
        });
        res.once('error', reject);
        res.once('end', () => {
          const result = { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), bytes };
          if (expect !== undefined && ![expect].flat().includes(res.statusCode)) {
            reject(new HttpStatusError(method, url.pathname, res.statusCode, result.body.toString()));
          } else resolve(result);
        });
      });
      req.once('error', reject);
      if (body && typeof body.file === 'string') {
        sendFileRange(req, body.file, body.start, body.end).catch((err) => {
          req.destroy(err);
          reject(err);
        });
      } else {
        req.end(body);
      }
    });
  }

  async startUpload(repo) {
    const res = await this.request('POST', `/v2/${repo}/blobs/uploads/`, { expect: 202 });
    return locationOf(res, this.base);
  }

  /** POST, then one PUT ?digest= whose body streams from `file`. */
  async pushMonolithic(repo, { file, size, digest }) {
    const location = await this.startUpload(repo);
    if (this.transfer === 'curl') {
      const r = await curlTransfer({
        method: 'PUT',
        url: withDigest(location, digest),
        uploadFile: file,
        headers: this.curlHeaders({ 'Content-Type': 'application/octet-stream' }),
        caFile: this.caFile,
      });
      if (r.status !== 201) throw new HttpStatusError('PUT', new URL(location).pathname, r.status);
      if (r.bytes !== size) throw new Error(`curl sent ${r.bytes} bytes, expected ${size}`);
      return;
    }
    await this.request('PUT', withDigest(location, digest), {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: { file, start: 0, end: size - 1 },
      expect: 201,
    });
  }

  /** POST, PATCH chunks of `chunk` bytes (each streamed from its range of `file`), then PUT ?digest=. */
  async pushChunked(repo, { file, size, digest, chunk }) {
    let location = await this.startUpload(repo);
    for (let start = 0; start < size; start += chunk) {
      const end = Math.min(start + chunk, size) - 1; // inclusive, as Content-Range is
      const res = await this.request('PATCH', location, {
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(end - start + 1),
          'content-range': `${start}-${end}`,
        },
        body: { file, start, end },
        expect: 202,
      });
      location = locationOf(res, this.base);
    }
    await this.request('PUT', withDigest(location, digest), { expect: 201 });
  }

  /** Small blobs (configs, small layers) from memory. */
  async pushBuffer(repo, bytes, digest) {
    const location = await this.startUpload(repo);
    await this.request('PUT', withDigest(location, digest), {
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
      expect: 201,
    });
  }

  /** Downloads a blob (or any URL of this server) to nowhere. Returns the byte count. */
  async pullBlob(repo, digest) {
    return this.download(`/v2/${repo}/blobs/${digest}`);
  }

  async download(target) {
    const url = new URL(target, this.base);
    if (this.transfer === 'curl') {
      const r = await curlTransfer({ method: 'GET', url: url.toString(), headers: this.curlHeaders(), caFile: this.caFile });
      if (r.status !== 200) throw new HttpStatusError('GET', url.pathname, r.status);
      return r.bytes;
    }
    const res = await this.request('GET', url.toString(), { discardBody: true, expect: 200 });
    return res.bytes;
  }

  curlHeaders(headers = {}) {
    return this.authorization ? { ...headers, Authorization: this.authorization } : headers;
  }

  async deleteBlob(repo, digest) {
    await this.request('DELETE', `/v2/${repo}/blobs/${digest}`, { expect: [202, 404] });
  }

  async putManifest(repo, reference, bytes, mediaType) {
    await this.request('PUT', `/v2/${repo}/manifests/${reference}`, {
      headers: { 'content-type': mediaType },
      body: bytes,
      expect: 201,
    });
  }

  async getJson(target) {
    const res = await this.request('GET', target, { expect: 200 });
    return JSON.parse(res.body.toString());
  }
}

function locationOf(res, base) {
  const location = res.headers.location;
  if (!location) throw new Error(`no Location header in the ${res.status} answer`);
  return new URL(location, base).toString();
}

function withDigest(location, digest) {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}
