/** Escaping for values placed into LDAP search filters (RFC 4515 section 3). */

/**
 * Escapes a value for an LDAP filter assertion: `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`,
 * `\29`, `\5c`, `\00`, so a user name like `*` or `x)(uid=*` is matched literally and cannot widen
 * the search. Other control characters and DEL are escaped too (never needed in a name).
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '*' || char === '(' || char === ')' || char === '\\' || code < 0x20 || code === 0x7f) {
      out += `\\${code.toString(16).padStart(2, '0')}`;
    } else {
      out += char;
    }
  }
  return out;
}

/** The user search filter: `(attr=value)`, AND-ed with the configured extra filter if any. */
export function userSearchFilter(attribute: string, username: string, extraFilter?: string): string {
  const own = `(${attribute}=${escapeFilterValue(username)})`;
  return extraFilter ? `(&${extraFilter.trim()}${own})` : own;
}
