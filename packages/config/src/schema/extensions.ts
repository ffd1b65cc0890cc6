/** `log` and `extensions`: logging, the audit trail, metrics and periodic scrub. */
import type { z } from 'zod';
import { duration, flag, oneOf, section, text } from './kit.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export const LOG_DEFAULTS = { level: 'info' } as const;
export const METRICS_DEFAULTS = { enable: true, path: '/metrics' } as const;
export const SCRUB_DEFAULTS = { enable: true, interval: '24h' } as const;

export const logSchema = section(
  {
    level: oneOf(LOG_LEVELS, { default: LOG_DEFAULTS.level, description: 'least severe level written' }),
    output: text({ nonEmpty: true, description: 'log file path (default: standard output)' }),
    audit: text({
      nonEmpty: true,
      description: 'audit log file: one JSON line per mutating request (who, what, repository, digest, result)',
    }),
  },
  { description: 'JSON log lines (pino)' },
);

export const metricsSchema = section(
  {
    enable: flag({ default: METRICS_DEFAULTS.enable, description: 'serve Prometheus metrics (on once this section is present)' }),
    prometheus: section(
      {
        path: text({
          pattern: /^\/[A-Za-z0-9._~/-]*$/,
          patternHint: 'a path such as "/metrics"',
          default: METRICS_DEFAULTS.path,
          description: 'scrape path (outside /v2/)',
        }),
      },
      { description: 'where Prometheus scrapes' },
    ),
  },
  { description: 'Prometheus metrics: request counts and latency by route, bytes pushed and pulled, repositories, storage, process' },
);

export const scrubSchema = section(
  {
    enable: flag({ default: SCRUB_DEFAULTS.enable, description: 'scrub periodically (on once this section is present)' }),
    interval: duration({ default: SCRUB_DEFAULTS.interval, description: 'how often' }),
  },
  { description: 'periodically re-hash every blob and check every manifest; problems are logged as errors' },
);

export const extensionsSchema = section({ metrics: metricsSchema, scrub: scrubSchema }, { description: 'optional features' });

export type LogConfig = z.output<typeof logSchema>;
export type ExtensionsConfig = z.output<typeof extensionsSchema>;
