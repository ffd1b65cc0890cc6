/**
 * A raw HTTP/1.1 client over a TCP socket: sends exactly the bytes a test wants (unnormalized
 * paths with `..` and `%2e`, NUL, invalid or conflicting headers) and reads what comes back.
 * fetch and node's http client both refuse or rewrite such requests.
 */
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  /** The request target exactly as sent. */
  path: string;
  headers?: Array<[string, string]>;
  body?: Buffer;
  /** Sent after the body, on the same socket (a request of its own, to test reuse). */
  timeoutMs?: number;
}

export interface RawResponse {
  /** 0 when the server closed without an answer; -1 on timeout. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export function rawRequest(port: number, request: RawRequest): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks), timedOut));
    };
    const timer = setTimeout(() => finish(true), request.timeoutMs ?? 5000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // One response is all we want: stop once it is complete.
      if (responseComplete(Buffer.concat(chunks))) finish(false);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', () => {
      const body = request.body ?? Buffer.alloc(0);
      const lines = [`${request.method} ${request.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
      const headers = request.headers ?? [];
      if (
        !headers.some(([name]) => name.toLowerCase() === 'content-length' || name.toLowerCase() === 'transfer-encoding') &&
        body.length > 0
      ) {
        lines.push(`Content-Length: ${body.length}`);
      }
      for (const [name, value] of headers) lines.push(`${name}: ${value}`);
      socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
    });
  });
}

function headerEnd(data: Buffer): number {
  return data.indexOf('\r\n\r\n');
}

function responseComplete(data: Buffer): boolean {
  const end = headerEnd(data);
  if (end < 0) return false;
  const { headers, status } = parseHead(data.subarray(0, end));
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return true;
  const length = headers['content-length'];
  if (length === undefined) return false; // until close
  return data.length - (end + 4) >= Number(length);
}

function parseHead(head: Buffer): { status: number; headers: Record<string, string> } {
  const [statusLine = '', ...rest] = head.toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of rest) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers };
}

function parse(data: Buffer, timedOut: boolean): RawResponse {
  const end = headerEnd(data);
  if (end < 0) return { status: timedOut ? -1 : 0, headers: {}, body: Buffer.alloc(0) };
  const { status, headers } = parseHead(data.subarray(0, end));
  return { status, headers, body: data.subarray(end + 4) };
}
