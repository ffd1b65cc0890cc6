/**
 * Config keys for storage upkeep and limits: zot's `storage.retention` and `extensions.scrub`,
 * and zot-ts's `http.limits` (safe defaults; see {@link LIMIT_DEFAULTS}).
 */
import { array, boolean, duration, integer, object, string, type Schema } from './schema-kit.js';

/** A regular expression (as zot's keepTags patterns), checked to compile. */
function regex(description: string): Schema<string> {
  const expected = 'a regular expression';
  return {
    expected,
    description,
    check(value, path, issues) {
      if (typeof value !== 'string') {
        issues.push({ path, message: `expected ${expected}` });
        return;
      }
      try {
        new RegExp(value);
      } catch (err) {
        issues.push({ path, message: `not a valid regular expression: ${(err as Error).message}` });
      }
    },
  };
}

export const retentionSchema = object(
  {
    dryRun: boolean({ description: 'log what retention would remove, remove nothing' }),
    delay: duration({ description: 'how old an untagged manifest or orphaned referrer must be before gc removes it (default 24h)' }),
    policies: array(
      object(
        {
          repositories: array(string({ nonEmpty: true }), { description: 'repository globs the policy applies to ("**", "team/*")' }),
          deleteReferrers: boolean({ description: 'remove referrers whose subject is gone (default false)' }),
          deleteUntagged: boolean({ description: 'remove untagged manifests no index references (default true)' }),
          keepTags: array(
            object({ patterns: array(regex('tags matching this are kept')) }, { required: ['patterns'] }),
            { description: 'when present, tags matching none of the patterns are removed' },
          ),
        },
        { required: ['repositories'] },
      ),
      { description: 'per-repository retention; the first policy matching a repository applies' },
    ),
  },
  { description: 'which manifests and tags gc removes (zot semantics)' },
);

export const limitsSchema = object(
  {
    maxManifestSize: integer({ min: 4096, description: 'largest manifest accepted, in bytes (default 4 MiB); larger gets 413' }),
    maxUploadSessionsPerClient: integer({ min: 0, description: 'upload sessions one client may keep open (default 1000; 0: no limit); more gets 429' }),
    uploadSessionExpiry: duration({ description: 'an upload session idle this long is abandoned and removed (default 1h)' }),
    headersTimeout: duration({ description: 'time a client gets to send request headers (default 60s)' }),
    requestTimeout: duration({ description: 'time a client gets to send a whole request, body included (default 0: none)' }),
    idleTimeout: duration({ description: 'a connection silent this long is closed, even mid-request (default 5m)' }),
  },
  { description: 'request and resource limits (slow clients, oversized input, abandoned uploads)' },
);

export const scrubSchema = object(
  {
    enable: boolean({ description: 'scrub periodically (default true once this section is present)' }),
    interval: duration({ description: 'how often (default 24h)' }),
  },
  { description: 'periodically re-hash every blob and check every manifest; problems are logged as errors' },
);

export const LIMIT_DEFAULTS = {
  maxManifestBytes: 4 * 1024 * 1024,
  maxUploadSessionsPerClient: 1000,
  uploadExpiryMs: 60 * 60 * 1000,
  headersMs: 60 * 1000,
  requestMs: 0,
  idleMs: 5 * 60 * 1000,
} as const;

/** zot's defaults for gc. */
export const GC_DEFAULTS = {
  delayMs: 60 * 60 * 1000,
  intervalMs: 60 * 60 * 1000,
  retentionDelayMs: 24 * 60 * 60 * 1000,
  scrubIntervalMs: 24 * 60 * 60 * 1000,
} as const;
