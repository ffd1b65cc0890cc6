/**
 * Shared machinery for the TypeScript port of the OCI distribution-spec conformance suite
 * (github.com/opencontainers/distribution-spec, folder `conformance/`): where the registry under
 * test is, an HTTP client with exact control over methods, headers and bodies, and assertions
 * that name the request when they fail.
 *
 * By default every workflow file starts its own `zot-cli serve` (a real process, real storage).
 * Like the official suite, `OCI_ROOT_URL` points the tests at any other registry instead
 * (with `OCI_NAMESPACE`, `OCI_CROSSMOUNT_NAMESPACE`, `OCI_REPO1`, `OCI_REPO2`, `OCI_USERNAME`,
 * `OCI_PASSWORD`); then run the files one at a time (`--test-concurrency=1`), since they share
 * the registry's namespaces as the official workflows do.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { gunzipSync } from 'node:zlib';
import { startServer, type RunningServer } from '../helpers/server.js';

// ---- environment (the official suite's variables) ------------------------------------------

/** Go's strconv.ParseBool, which the official suite uses for its switches. */
export function parseBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

export function envFlag(name: string, fallback: boolean): boolean {
  return parseBool(process.env[name]) ?? fallback;
}

// ---- the registry under test ---------------------------------------------------------------

export interface Target {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  /** The classic suite's `OCI_NAMESPACE`. */
  namespace: string;
  /** The classic suite's `OCI_CROSSMOUNT_NAMESPACE`. */
  crossmountNamespace: string;
  /** The 2025 suite's `repo1` and `repo2`. */
  repo1: string;
  repo2: string;
  /** True when the tests run against our own freshly started zot-cli. */
  ownServer: boolean;
  client: RegistryClient;
  server?: RunningServer;
  stop(): Promise<void>;
}

/** Starts zot-cli (or uses `OCI_ROOT_URL`) and names the repositories the workflow uses. */
export async function openTarget(workflow: string): Promise<Target> {
  const external = process.env.OCI_ROOT_URL?.trim();
  let server: RunningServer | undefined;
  let url: string;
  if (external) {
    url = external.replace(/\/+$/, '');
  } else {
    server = await startServer();
    url = server.url;
  }
  const client = new RegistryClient(url, process.env.OCI_USERNAME ?? '', process.env.OCI_PASSWORD ?? '');
  const ownServer = server !== undefined;
  return {
    url,
    namespace: process.env.OCI_NAMESPACE?.trim() || `conformance/${workflow}`,
    crossmountNamespace: process.env.OCI_CROSSMOUNT_NAMESPACE?.trim() || `conformance-${randomUUID()}`,
    repo1: process.env.OCI_REPO1?.trim() || 'conformance/repo1',
    repo2: process.env.OCI_REPO2?.trim() || 'conformance/repo2',
    ownServer,
    client,
    ...(server ? { server } : {}),
    async stop() {
      client.close();
      if (server) {
        const status = await server.stop();
        // A registry that crashed mid-run must fail the run even if every request "passed".
        assert.ok(
          status.signal === 'SIGTERM' || status.code === 0,
          `zot-cli exited abnormally: ${JSON.stringify(status)}\n${server.logs().slice(-4000)}`,
        );
      }
    },
  };
}

// ---- HTTP --------------------------------------------------------------------------------

export type HeaderValue = string | string[];

export interface SendOptions {
  headers?: Record<string, HeaderValue>;
  /** Query parameters added to those already in the path. */
  query?: Record<string, string>;
  /** The body. Content-Length is always sent with the body's length, as Go's client does. */
  body?: Uint8Array | string;
}

export interface Reply {
  method: string;
  url: URL;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The header's value (several lines joined by ", "), or undefined. */
  header(name: string): string | undefined;
  text(): string;
  json<T = unknown>(): T;
}

/**
 * A small registry client on node:http: it sends exactly the method, headers and body asked for
 * (fetch cannot send a body with GET), reads the whole response, and answers a 401 challenge
 * with `OCI_USERNAME`/`OCI_PASSWORD` (Basic, or a Bearer token from the realm) like the suite.
 */
export class RegistryClient {
  readonly baseUrl: string;
  private readonly agent: HttpAgent;
  private readonly authCache = new Map<string, string>();

  constructor(
    baseUrl: string,
    private readonly username: string,
    private readonly password: string,
  ) {
    this.baseUrl = baseUrl;
    this.agent = baseUrl.startsWith('https:')
      ? new HttpsAgent({ keepAlive: true, rejectUnauthorized: false })
      : new HttpAgent({ keepAlive: true });
  }

  /** Resolves a path or a `Location` header against the registry's base URL. */
  resolve(pathOrUrl: string): URL {
    return new URL(pathOrUrl, `${this.baseUrl}/`);
  }

  async send(method: string, pathOrUrl: string, options: SendOptions = {}): Promise<Reply> {
    const url = this.resolve(pathOrUrl);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
    const headers: Record<string, HeaderValue> = { 'User-Agent': 'zot-ts-conformance-port', ...options.headers };
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    // Go's client sends `Content-Length: 0` on bodiless POST/PUT/PATCH; so do we.
    else if (['POST', 'PUT', 'PATCH'].includes(method)) headers['Content-Length'] = '0';
    const cacheKey = authCacheKey(method, url);
    const cached = this.authCache.get(cacheKey);
    if (cached) headers.Authorization = cached;
    let reply = await this.raw(method, url, headers, body);
    if (reply.status === 401 && (this.username || this.password)) {
      const auth = await this.answerChallenge(reply);
      if (auth) {
        this.authCache.set(cacheKey, auth);
        reply = await this.raw(method, url, { ...headers, Authorization: auth }, body);
      }
    }
    return reply;
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * One exchange as Go's default client makes it: redirects followed (up to 10; 301-303 turn
   * into a bodiless GET, 307/308 repeat the request; credentials dropped on another host), and
   * `Accept-Encoding: gzip` offered unless a Range is asked for, with a gzipped answer decoded
   * and its Content-Length removed, so header checks see what the Go suite would see.
   */
  private async raw(method: string, url: URL, headers: Record<string, HeaderValue>, body: Buffer | undefined): Promise<Reply> {
    let current = { method, url, headers, body };
    for (let hop = 0; ; hop++) {
      const reply = await this.exchange(current.method, current.url, current.headers, current.body);
      const location = reply.header('location');
      if (![301, 302, 303, 307, 308].includes(reply.status) || !location || hop >= 10) return reply;
      const next = new URL(location, current.url);
      const keep = reply.status === 307 || reply.status === 308;
      const nextMethod = keep || current.method === 'HEAD' ? current.method : 'GET';
      const nextHeaders = { ...current.headers };
      if (!keep) {
        delete nextHeaders['Content-Length'];
        delete nextHeaders['Content-Type'];
      }
      if (next.host !== current.url.host) delete nextHeaders.Authorization;
      current = { method: nextMethod, url: next, headers: nextHeaders, body: keep ? current.body : undefined };
    }
  }

  private exchange(method: string, url: URL, headers: Record<string, HeaderValue>, body: Buffer | undefined): Promise<Reply> {
    const offered = headers.Range === undefined && headers['Accept-Encoding'] === undefined;
    const sent = offered ? { ...headers, 'Accept-Encoding': 'gzip' } : headers;
    return new Promise((resolveReply, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method, headers: sent, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          let data = Buffer.concat(chunks);
          const responseHeaders = { ...res.headers };
          if (offered && responseHeaders['content-encoding'] === 'gzip' && data.length > 0) {
            try {
              data = gunzipSync(data);
            } catch (err) {
              reject(err);
              return;
            }
            delete responseHeaders['content-encoding'];
            delete responseHeaders['content-length'];
          }
          resolveReply(makeReply(method, url, res.statusCode ?? 0, responseHeaders, data));
        });
      });
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${url.href}: no answer within 60 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  private async answerChallenge(reply: Reply): Promise<string | undefined> {
    const challenge = reply.header('www-authenticate') ?? '';
    const scheme = /^\s*(\w+)/.exec(challenge)?.[1]?.toLowerCase();
    const basic = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
    if (scheme === 'basic') return basic;
    if (scheme !== 'bearer') return undefined;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm) return undefined;
    const tokenUrl = new URL(params.realm, reply.url);
    if (params.service) tokenUrl.searchParams.set('service', params.service);
    if (params.scope) tokenUrl.searchParams.set('scope', params.scope);
    const tokenReply = await this.raw('GET', tokenUrl, { Accept: 'application/json', Authorization: basic }, undefined);
    if (tokenReply.status !== 200) return undefined;
    const { token, access_token: accessToken } = tokenReply.json<{ token?: string; access_token?: string }>();
    return `Bearer ${accessToken || token}`;
  }
}

/** Host, repository and pull/push, as the suite keys cached credentials. */
function authCacheKey(method: string, url: URL): string {
  const repo = /^\/v2\/(.+?)\/(?:blobs|manifests|tags|referrers)\//.exec(url.pathname)?.[1] ?? '';
  const kind = method === 'GET' || method === 'HEAD' ? 'pull' : ['POST', 'PATCH', 'PUT'].includes(method) ? 'push' : method;
  return `${url.host}:${repo}:${kind}`;
}

function makeReply(method: string, url: URL, status: number, headers: IncomingHttpHeaders, body: Buffer): Reply {
  return {
    method,
    url,
    status,
    headers,
    body,
    header(name) {
      const value = headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    text: () => body.toString('utf8'),
    json<T>() {
      return JSON.parse(body.toString('utf8')) as T;
    },
  };
}

/** reggie's GetRelativeLocation: the path (and query) of the Location header. */
export function relativeLocation(reply: Reply): string {
  const location = reply.header('location');
  if (!location) return '';
  const url = new URL(location, reply.url);
  return `${url.pathname}${url.search}`;
}

/** reggie's GetAbsoluteLocation. */
export function absoluteLocation(reply: Reply): string {
  const location = reply.header('location');
  return location ? new URL(location, reply.url).href : '';
}

// ---- assertions --------------------------------------------------------------------------

export function describeReply(reply: Reply): string {
  const text = reply.body.length > 600 ? `${reply.body.subarray(0, 600).toString('utf8')}...` : reply.text();
  return `${reply.method} ${reply.url.pathname}${reply.url.search} -> ${reply.status} ${text}`;
}

/** The status is one of `codes`. */
export function expectStatus(reply: Reply, ...codes: number[]): void {
  assert.ok(codes.includes(reply.status), `expected status ${codes.join(' or ')}, got: ${describeReply(reply)}`);
}

/** The status is 2xx, or one of `also`. */
export function expectSuccessOr(reply: Reply, ...also: number[]): void {
  const ok = (reply.status >= 200 && reply.status < 300) || also.includes(reply.status);
  assert.ok(ok, `expected a 2xx status${also.length ? ` or ${also.join('/')}` : ''}, got: ${describeReply(reply)}`);
}

export function expectHeaderPresent(reply: Reply, name: string): string {
  const value = reply.header(name);
  assert.ok(value !== undefined && value !== '', `expected a ${name} header: ${describeReply(reply)}`);
  return value;
}

/** The spec's error body: `{"errors":[{"code","message","detail"}]}` (reggie's resp.Errors()). */
export function errorCodesOf(reply: Reply): string[] {
  let parsed: unknown;
  try {
    parsed = reply.json();
  } catch {
    assert.fail(`error body is not JSON: ${describeReply(reply)}`);
  }
  const errors = (parsed as { errors?: unknown }).errors;
  assert.ok(Array.isArray(errors), `error body has no errors array: ${describeReply(reply)}`);
  return errors.map((e) => String((e as { code?: unknown }).code));
}

/** Error codes of distribution-spec "Error Codes", in the suite's list. */
export const SPEC_ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'MANIFEST_UNVERIFIED',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'TAG_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
] as const;

// ---- content -----------------------------------------------------------------------------

export type Algorithm = 'sha256' | 'sha512';

export function digestOf(data: Uint8Array | string, algorithm: Algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export function algorithmOf(digest: string): Algorithm {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** Go's encoding/json MarshalIndent(v, "", "\t") for the plain values these tests build. */
export function goIndentJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, '\t'));
}

/** Go's json.Marshal (compact). */
export function goJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/**
 * Marks a check the registry may legitimately not support (the suite's errRegUnsupported): the
 * test is then reported as skipped with this reason instead of failed.
 */
export class RegistryUnsupported extends Error {
  override readonly name = 'RegistryUnsupported';
}

/** Runs a check; a {@link RegistryUnsupported} outcome becomes a skip with its reason. */
export async function checkOrSkip(t: { skip(message?: string): void }, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof RegistryUnsupported) {
      t.skip(`registry does not support this (optional): ${err.message}`);
      return;
    }
    throw err;
  }
}

// ---- the classic suite's upload idiom ------------------------------------------------------

/** POST a session, then PUT the whole blob to its Location with `?digest=` (the classic setup's push). */
export async function postThenPut(client: RegistryClient, repo: string, blob: { content: Uint8Array; digest: string }): Promise<Reply> {
  const post = await client.send('POST', `/v2/${repo}/blobs/uploads/`);
  const location = relativeLocation(post);
  assert.ok(location, `upload POST gave no Location: ${describeReply(post)}`);
  return client.send('PUT', location, {
    query: { digest: blob.digest },
    headers: { 'Content-Type': 'application/octet-stream' },
    body: blob.content,
  });
}

/** A digest shortened for test names. */
export function short(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest : `${digest.slice(0, colon)}:${digest.slice(colon + 1, colon + 13)}`;
}
