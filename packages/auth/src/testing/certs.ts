/**
 * Real certificates for tests, made with the openssl command: a CA, a server certificate valid
 * for 127.0.0.1 and localhost, client certificates (CN = user name), and a second, untrusted CA
 * with a client certificate of its own (for "signed by the wrong CA" cases).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './run.js';

export interface CertificatePair {
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  ca: CertificatePair;
  server: CertificatePair;
  /** Client certificates by CN, signed by `ca`. */
  clients: Record<string, CertificatePair>;
  /** A CA nobody trusts, and a client certificate it signed (CN `mallory`). */
  rogueCa: CertificatePair;
  rogueClient: CertificatePair;
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string, cn: string): Promise<CertificatePair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await run('openssl', [
    'req',
    '-x509',
    ...KEY_ARGS,
    '-keyout',
    pair.key,
    '-out',
    pair.cert,
    '-days',
    '3',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pair;
}

async function makeLeaf(
  dir: string,
  name: string,
  cn: string,
  ca: CertificatePair,
  extensions: string,
  subject = `/CN=${cn}`,
): Promise<CertificatePair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await run('openssl', ['req', ...KEY_ARGS, '-keyout', pair.key, '-out', csr, '-subj', subject]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    pair.cert,
    '-days',
    '3',
    '-extfile',
    ext,
  ]);
  return pair;
}

const SERVER_EXTENSIONS =
  'subjectAltName=IP:127.0.0.1,DNS:localhost\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n';
const CLIENT_EXTENSIONS = 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';

/** Another certificate from an existing CA: a server one (127.0.0.1, localhost) or a client one (CN = user). */
export async function issueCertificate(
  dir: string,
  name: string,
  ca: CertificatePair,
  kind: 'server' | 'client',
  cn = name,
  /** A client certificate's whole subject (`/C=US/O=Example/CN=app`) and subjectAltName (`URI:spiffe://...,email:...`). */
  options: { subject?: string; subjectAltName?: string } = {},
): Promise<CertificatePair> {
  await mkdir(dir, { recursive: true });
  if (kind === 'server') return makeLeaf(dir, name, '127.0.0.1', ca, SERVER_EXTENSIONS);
  const extensions = options.subjectAltName ? `${CLIENT_EXTENSIONS}subjectAltName=${options.subjectAltName}\n` : CLIENT_EXTENSIONS;
  return makeLeaf(dir, name, cn, ca, extensions, options.subject ?? `/CN=${cn}`);
}

export async function generateCertificates(dir: string, options: { clients?: readonly string[] } = {}): Promise<TestCertificates> {
  await mkdir(dir, { recursive: true });
  const ca = await makeCa(dir, 'ca', 'zot-ts test CA');
  const server = await makeLeaf(dir, 'server', '127.0.0.1', ca, SERVER_EXTENSIONS);
  const clients: Record<string, CertificatePair> = {};
  for (const cn of options.clients ?? ['alice', 'bob']) {
    clients[cn] = await makeLeaf(dir, `client-${cn}`, cn, ca, CLIENT_EXTENSIONS);
  }
  const rogueCa = await makeCa(dir, 'rogue-ca', 'rogue CA');
  const rogueClient = await makeLeaf(dir, 'rogue-client', 'mallory', rogueCa, CLIENT_EXTENSIONS);
  return { dir, ca, server, clients, rogueCa, rogueClient };
}
