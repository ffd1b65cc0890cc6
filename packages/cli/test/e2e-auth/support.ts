/**
 * Shared pieces of the security end-to-end tests: real certificates and htpasswd files owned by
 * the (unprivileged) registry user with mode 0600, certs.d-style folders for the container
 * clients, the example configs adapted to a test run, and raw HTTPS requests.
 */
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { generateCertificates, htpasswdSet, type CertificatePair, type TestCertificates } from '@zotjs/auth/testing';
import { giveToServerUser, makeTempDir, repoRoot, serverUser, type ConfigObject, type RunningServer } from '../helpers/server.js';
import type { ClientSandbox } from '../helpers/images.js';

export interface Secrets {
  /** Folder owned by the registry user (0700). */
  dir: string;
  certs: TestCertificates;
  /** Path of an htpasswd file made with `htpasswd -B`. */
  htpasswd: string;
}

/**
 * Certificates (CA, server for 127.0.0.1, client certificates for `clients`) and an htpasswd file
 * with `users` (bcrypt), all owned by the registry user; keys and htpasswd readable by it only.
 */
export async function makeSecrets(options: { users?: Record<string, string>; clients?: string[] } = {}): Promise<Secrets> {
  const dir = makeTempDir('zot-auth-secrets-');
  const certs = await generateCertificates(join(dir, 'certs'), { clients: options.clients ?? [] });
  const htpasswd = join(dir, 'htpasswd');
  for (const [user, password] of Object.entries(options.users ?? {})) await htpasswdSet(htpasswd, user, password, 'bcrypt');
  await lockDown({ dir, certs, htpasswd });
  return { dir, certs, htpasswd };
}

/** Gives the secrets to the registry user and makes keys and htpasswd 0600 (again after edits). */
export async function lockDown(secrets: Secrets): Promise<void> {
  giveToServerUser(secrets.dir);
  const keys = [secrets.certs.server.key, secrets.certs.ca.key, ...Object.values(secrets.certs.clients).map((c) => c.key)];
  for (const path of [...keys, secrets.htpasswd]) await chmod(path, 0o600).catch(() => undefined);
}

/** Asserts a file is 0600 and owned by the registry user (when the tests run as root). */
export async function assertPrivate(path: string): Promise<void> {
  const info = await stat(path);
  assert.equal(info.mode & 0o777, 0o600, `${path} has mode ${(info.mode & 0o777).toString(8)}`);
  const user = serverUser();
  if (user) assert.equal(info.uid, user.uid, `${path} is owned by ${user.name}`);
}

/** Asserts the registry process runs as the unprivileged user (when the tests run as root). */
export async function assertRunsUnprivileged(server: RunningServer): Promise<void> {
  const user = serverUser();
  if (!user) return;
  const status = await readFile(`/proc/${server.process.pid}/status`, 'utf8');
  const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
  assert.equal(Number(uid), user.uid, `registry runs as ${user.name}`);
  assert.notEqual(Number(uid), 0);
}

/**
 * A certs.d-style folder for containers/image clients (`--cert-dir`): the CA as `ca.crt` and,
 * for mutual TLS, a client certificate as `client.cert` + `client.key`.
 */
export async function clientCertDir(sandbox: ClientSandbox, ca: string, client?: CertificatePair): Promise<string> {
  const dir = await sandbox.makeDir('certs.d');
  await copyFile(ca, join(dir, 'ca.crt'));
  if (client) {
    await copyFile(client.cert, join(dir, 'client.cert'));
    await copyFile(client.key, join(dir, 'client.key'));
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * One of the repository's examples/ configs, ready for `startServer`: its `http` security keys
 * kept, storage, log and the listen address dropped (the helper supplies fresh ones), then
 * `override` merged in (file paths of this run).
 */
export async function exampleConfig(file: string): Promise<ConfigObject> {
  const text = await readFile(join(repoRoot, 'examples', file), 'utf8');
  const parsed = (file.endsWith('.yaml') ? yaml.load(text, { schema: yaml.JSON_SCHEMA }) : JSON.parse(text)) as ConfigObject;
  const http = { ...(parsed.http as ConfigObject) };
  delete http.address;
  delete http.port;
  return { http };
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request trusting `ca` (optionally with Basic credentials or a client certificate). */
export async function httpsCall(
  url: string,
  options: {
    ca: string;
    method?: string;
    user?: string | undefined;
    password?: string | undefined;
    client?: CertificatePair | undefined;
  } = { ca: '' },
): Promise<HttpsAnswer> {
  const ca = await readFile(options.ca);
  const client = options.client ? { cert: await readFile(options.client.cert), key: await readFile(options.client.key) } : {};
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.user !== undefined)
      headers.authorization = `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}`;
    const req = httpsRequest(url, { method: options.method ?? 'GET', headers, ca, agent: false, ...client }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The SHA-256 fingerprint of the certificate the server presents now. */
export function serverFingerprint(port: number, ca: Buffer, client?: { cert: Buffer; key: Buffer }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, ...(client ?? {}) }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** The error code of a spec error body (`UNAUTHORIZED`, `DENIED`, ...). */
export function errorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}
