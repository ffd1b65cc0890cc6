/** Parsing of `Authorization: Basic ...` headers (RFC 7617). */

export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

export type BasicAuthParse =
  /** No Authorization header at all. */
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly credentials: BasicCredentials }
  /** A header that is not valid Basic credentials (another scheme, bad base64, no colon). */
  | { readonly kind: 'malformed'; readonly reason: string };

// Longer headers are refused before decoding: no real user name and password need 8 KiB.
const MAX_HEADER_LENGTH = 8192;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function parseBasicAuthorization(header: string | undefined): BasicAuthParse {
  if (header === undefined || header.trim() === '') return { kind: 'none' };
  if (header.length > MAX_HEADER_LENGTH) return { kind: 'malformed', reason: 'authorization header too long' };
  const match = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(header);
  if (!match) return { kind: 'malformed', reason: 'malformed authorization header' };
  if (match[1]!.toLowerCase() !== 'basic') return { kind: 'malformed', reason: `unsupported authorization scheme` };
  const encoded = match[2]!;
  if (!BASE64.test(encoded) || encoded.length % 4 === 1) return { kind: 'malformed', reason: 'credentials are not base64' };
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { kind: 'malformed', reason: 'credentials lack a colon' };
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  // podman, skopeo and buildah (containers/image) answer a Basic challenge with `Basic Og==`
  // (empty user and password) when they have no credentials: that caller is anonymous.
  if (username === '' && password === '') return { kind: 'none' };
  if (username === '') return { kind: 'malformed', reason: 'empty user name' };
  // Control characters (NUL above all) never belong in a user name; refusing them here keeps
  // every backend (file lookup, LDAP filter) from having to think about them.
  if (/[\u0000-\u001f\u007f]/.test(username)) return { kind: 'malformed', reason: 'control character in user name' };
  return { kind: 'basic', credentials: { username, password } };
}
