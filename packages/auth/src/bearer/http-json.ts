/** A small JSON GET over http or https, with an optional CA bundle and a timeout (node's fetch takes no CA). */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const MAX_BYTES = 1 << 20;

export function getJson(url: string, ca?: string, timeoutMs = 5_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const send = parsed.protocol === 'https:' ? httpsRequest : parsed.protocol === 'http:' ? httpRequest : undefined;
    if (!send) {
      reject(new Error(`unsupported URL scheme ${parsed.protocol}`));
      return;
    }
    const req = send(
      parsed,
      { method: 'GET', headers: { accept: 'application/json' }, timeout: timeoutMs, ...(ca ? { ca } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BYTES) req.destroy(new Error(`${url}: answer larger than ${MAX_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`${url} answered ${res.statusCode}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new Error(`${url} did not answer JSON`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
