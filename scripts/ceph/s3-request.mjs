// A minimal AWS signature v4 client for bucket-level requests (create, delete), so the Ceph scripts and
// test setup need no npm package.   CLI: node s3-request.mjs ENV_FILE METHOD /bucket
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Sends METHOD path (e.g. PUT /bucket) signed with the credentials in `env` (S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY). */
export async function s3Request(env, method, path) {
  const url = new URL(path, env.S3_ENDPOINT);
  const now = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = now.slice(0, 8);
  const payload = createHash('sha256').update('').digest('hex');
  const headers = { host: url.host, 'x-amz-content-sha256': payload, 'x-amz-date': now };
  const signed = Object.keys(headers).sort();
  const canonical = [method, url.pathname, '', ...signed.map((h) => `${h}:${headers[h]}`), '', signed.join(';'), payload].join('\n');
  const scope = `${day}/${env.S3_REGION}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', now, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  let key = `AWS4${env.S3_SECRET_KEY}`;
  for (const part of [day, env.S3_REGION, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const authorization = `AWS4-HMAC-SHA256 Credential=${env.S3_ACCESS_KEY}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  const res = await fetch(url, { method, headers: { ...headers, authorization } });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

export function readEnvFile(file) {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, method, path] = process.argv.slice(2);
  await s3Request(readEnvFile(file), method, path);
}
