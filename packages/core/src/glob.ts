/**
 * Repository globs as zot matches them (Go's doublestar), for access control and gc retention:
 * `*` and `?` stay within one path segment, `**` as a whole segment spans any number of segments
 * (`team/**` matches `team` and everything below it; a leading `**` and a slash also match no
 * segment at all, so `app` matches it), `[a-z]`/`[!a-z]` classes, `{a,b}` alternatives, `\`
 * escapes. Matching is picomatch's; the syntax check before it refuses what doublestar refuses
 * and picomatch would take literally (`a}`, a trailing `\`).
 */
import picomatch from 'picomatch';

export class GlobSyntaxError extends Error {
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`invalid repository glob "${pattern}": ${reason}`);
    this.name = 'GlobSyntaxError';
  }
}

const PICOMATCH_OPTIONS: picomatch.PicomatchOptions = {
  dot: true, // `*` and `**` match segments starting with a dot too (doublestar has no hidden files)
  noextglob: true, // `+(a)`, `@(a)`: not doublestar syntax
  nonegate: true, // a leading `!` is a literal, as in doublestar
  strictBrackets: true,
  posix: true,
};

/** Compiles a repository glob; throws {@link GlobSyntaxError} when it is malformed. */
export function globToRegExp(pattern: string): RegExp {
  const escaped = checkAndEscape(pattern);
  try {
    return picomatch.makeRe(escaped, PICOMATCH_OPTIONS);
  } catch (err) {
    throw new GlobSyntaxError(pattern, (err as Error).message);
  }
}

/** Why `pattern` is not a valid repository glob, or undefined when it is one. */
export function globSyntaxProblem(pattern: string): string | undefined {
  try {
    globToRegExp(pattern);
    return undefined;
  } catch (err) {
    if (err instanceof GlobSyntaxError) return err.reason;
    throw err;
  }
}

const compiled = new Map<string, RegExp>();
const CACHE_LIMIT = 1024;

/** Whether repository `name` matches `pattern` (compiled once per pattern); throws {@link GlobSyntaxError}. */
export function matchesGlob(pattern: string, name: string): boolean {
  let regexp = compiled.get(pattern);
  if (!regexp) {
    regexp = globToRegExp(pattern);
    if (compiled.size >= CACHE_LIMIT) compiled.clear();
    compiled.set(pattern, regexp);
  }
  return regexp.test(name);
}

/**
 * Checks brackets, braces and escapes as doublestar does, and escapes parentheses, which
 * picomatch would read as regular-expression groups (doublestar matches them literally).
 */
function checkAndEscape(pattern: string): string {
  let out = '';
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (i + 1 >= pattern.length) throw new GlobSyntaxError(pattern, 'trailing backslash');
      out += c + pattern[i + 1]!;
      i++;
    } else if (c === '[') {
      // `]` right after `[` or `[!` belongs to the class, as in POSIX.
      let start = i + 1;
      if (pattern[start] === '!' || pattern[start] === '^') start++;
      const end = pattern.indexOf(']', start + 1);
      if (start >= pattern.length || end < 0) throw new GlobSyntaxError(pattern, 'unclosed [');
      out += pattern.slice(i, end + 1);
      i = end;
    } else if (c === '{') {
      braces++;
      out += c;
    } else if (c === '}') {
      if (--braces < 0) throw new GlobSyntaxError(pattern, 'unbalanced }');
      out += c;
    } else if (c === '(' || c === ')') {
      out += `\\${c}`;
    } else if (c === ']') {
      throw new GlobSyntaxError(pattern, 'unbalanced ]');
    } else {
      out += c;
    }
  }
  if (braces > 0) throw new GlobSyntaxError(pattern, 'unclosed {');
  return out;
}
