/**
 * Repository globs as zot matches them (doublestar): `*` and `?` stay within one path segment,
 * `**` as a whole segment spans any number of segments (`team/**` matches `team` and everything
 * below it), `[a-z]`/`[!a-z]` classes, `{a,b}` alternatives, `\` escapes.
 */

export class GlobSyntaxError extends Error {
  constructor(pattern: string, why: string) {
    super(`invalid repository glob "${pattern}": ${why}`);
    this.name = 'GlobSyntaxError';
  }
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${translate(pattern, pattern, false)}$`);
}

function translate(pattern: string, whole: string, insideBraces: boolean): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (i + 1 >= pattern.length) throw new GlobSyntaxError(whole, 'trailing backslash');
      out += escapeRegExp(pattern[i + 1]!);
      i += 2;
    } else if (c === '*') {
      const double = pattern[i + 1] === '*';
      const startsSegment = i === 0 || pattern[i - 1] === '/';
      const endsSegment = i + 2 >= pattern.length || pattern[i + 2] === '/';
      if (double && startsSegment && endsSegment && !insideBraces) {
        if (i + 2 >= pattern.length) {
          // Trailing `/**`: the directory itself or anything below it.
          if (out.endsWith('\\/')) out = `${out.slice(0, -2)}(?:/.*)?`;
          else out += '.*';
          i += 2;
        } else {
          // `**/`: zero or more whole segments.
          out += '(?:.*/)?';
          i += 3;
        }
      } else {
        out += '[^/]*';
        i += double ? 2 : 1;
      }
    } else if (c === '?') {
      out += '[^/]';
      i += 1;
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new GlobSyntaxError(whole, 'unclosed [');
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      if (body === '') throw new GlobSyntaxError(whole, 'empty character class');
      const cls = body.replace(/[\\\]^[]/g, '\\$&');
      out += negated ? `[^/${cls}]` : `(?:(?!/)[${cls}])`;
      i = end + 1;
    } else if (c === '{') {
      const end = matchingBrace(pattern, i, whole);
      const alternatives = splitTopLevel(pattern.slice(i + 1, end));
      out += `(?:${alternatives.map((alt) => translate(alt, whole, true)).join('|')})`;
      i = end + 1;
    } else if (c === '}' || c === ']') {
      throw new GlobSyntaxError(whole, `unbalanced ${c}`);
    } else {
      out += escapeRegExp(c);
      i += 1;
    }
  }
  return out;
}

function matchingBrace(pattern: string, open: number, whole: string): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  throw new GlobSyntaxError(whole, 'unclosed {');
}

function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}
