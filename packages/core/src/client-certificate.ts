/**
 * The verified client certificate of a mutual-TLS connection, in the shape core's authenticators
 * read (`ClientCertificate`): subject CN, the subject DN as zot prints it (Go's
 * `pkix.Name.String()`), and the e-mail, URI and DNS subject alternative names. Parsed once per
 * connection: keep-alive requests reuse it.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { ClientCertificate } from './auth.js';

const parsed = new WeakMap<object, ClientCertificate | undefined>();

/** The certificate the server verified on `socket`; undefined for plain or unverified connections. */
export function verifiedCertificateOf(socket: object): ClientCertificate | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (!tls.encrypted || !tls.authorized || typeof tls.getPeerCertificate !== 'function') return undefined;
  if (parsed.has(socket)) return parsed.get(socket);
  const peer = tls.getPeerCertificate();
  const result = peer && Object.keys(peer).length > 0 ? describeCertificate(peer.raw, peer.subject?.CN) : undefined;
  parsed.set(socket, result);
  return result;
}

function describeCertificate(raw: Buffer | undefined, cn: string | string[] | undefined): ClientCertificate {
  // A subject with several CNs is ambiguous: no CN rather than a guess.
  const commonName = typeof cn === 'string' && cn !== '' ? cn : undefined;
  const out: { -readonly [K in keyof ClientCertificate]: ClientCertificate[K] } = commonName ? { subjectCommonName: commonName } : {};
  if (!raw) return out;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(raw);
  } catch {
    return out;
  }
  out.subject = goDistinguishedName(certificate.subject);
  const names = subjectAltNames(certificate.subjectAltName);
  out.emails = names.filter(([kind]) => kind === 'email').map(([, value]) => value);
  out.uris = names.filter(([kind]) => kind === 'URI').map(([, value]) => value);
  out.dnsNames = names.filter(([kind]) => kind === 'DNS').map(([, value]) => value);
  return out;
}

/**
 * Node lists the subject one attribute per line in certificate order (`C=US\nO=Example\nCN=app`);
 * Go prints the RDNs in reverse order, comma separated, with RFC 2253 escapes.
 */
export function goDistinguishedName(subject: string): string {
  const parts = subject
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const eq = line.indexOf('=');
      const type = line.slice(0, eq);
      let value = line.slice(eq + 1);
      if (value.startsWith('"')) {
        try {
          value = JSON.parse(value) as string;
        } catch {
          // keep it as written
        }
      } else {
        // Node writes RFC 2253 escapes itself (`Example\, Inc`): undo them before Go's are applied.
        value = value.replace(/\\(.)/g, '$1');
      }
      return `${type}=${escapeDnValue(value)}`;
    });
  return parts.reverse().join(',');
}

function escapeDnValue(value: string): string {
  let escaped = value.replace(/[,+"\\<>;]/g, '\\$&');
  if (escaped.startsWith(' ') || escaped.startsWith('#')) escaped = `\\${escaped}`;
  if (escaped.endsWith(' ') && !escaped.endsWith('\\ ')) escaped = `${escaped.slice(0, -1)}\\ `;
  return escaped;
}

/** `DNS:a.example, URI:spiffe://x/y, email:"a,b"@example` → pairs (values Node quoted are JSON strings). */
export function subjectAltNames(text: string | undefined): [string, string][] {
  if (!text) return [];
  const out: [string, string][] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === ',') i++;
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const kind = text.slice(i, colon);
    i = colon + 1;
    let value: string;
    if (text[i] === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(i, end + 1)) as string;
      } catch {
        value = text.slice(i + 1, end);
      }
      i = end + 1;
    } else {
      const comma = text.indexOf(', ', i);
      value = comma < 0 ? text.slice(i) : text.slice(i, comma);
      i = comma < 0 ? text.length : comma;
    }
    out.push([kind, value]);
  }
  return out;
}
