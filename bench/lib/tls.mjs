// One CA and one server certificate for 127.0.0.1, shared by zot-ts, distribution and nginx in TLS passes.
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChecked } from './processes.mjs';

/** Returns { dir, caFile, certFile, keyFile, ca (PEM string), certDir (certs.d-style folder for skopeo) }. */
export async function generateCertificate(dir) {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const ext = join(dir, 'server.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await runChecked('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', '/CN=zot-ts bench CA']);
  await runChecked('openssl', ['req', ...ec, '-keyout', keyFile, '-out', csr, '-subj', '/CN=127.0.0.1']);
  writeFileSync(
    ext,
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  await runChecked('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    certFile,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  // containers/image tools trust a folder holding ca.crt (--dest-cert-dir).
  const certDir = join(dir, 'certs.d');
  mkdirSync(certDir, { recursive: true });
  copyFileSync(caFile, join(certDir, 'ca.crt'));
  return { dir, caFile, certFile, keyFile, certDir, ca: readFileSync(caFile, 'utf8') };
}
