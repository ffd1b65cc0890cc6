/**
 * Durations as zot's config writes them: Go's `time.ParseDuration` syntax (`"1h30m"`, `"72h"`,
 * `"500ms"`, `"1.5s"`, `"0"`). The one parser of the project: every duration key goes through it.
 */

/** A Go duration: `0`, or one or more `<number><unit>` parts (units ns, us, µs, ms, s, m, h). */
export const DURATION_PATTERN = /^(?:0|(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;

const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;

const MS_PER_UNIT: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export interface DurationOptions {
  /**
   * What a bare number (`5`, `"1.5"`) means. Go durations need a unit (except `0`), but zot's
   * auth keys (`failDelay`, `queryTimeout`) take plain numbers of seconds; default: none (refused).
   */
  bareNumberUnit?: 's' | 'ms';
}

/** Milliseconds in `value`, or undefined when it is not a duration (negative ones included). */
export function parseDuration(value: string | number, options: DurationOptions = {}): number | undefined {
  const unit = options.bareNumberUnit;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    if (value === 0) return 0;
    return unit ? value * MS_PER_UNIT[unit]! : undefined;
  }
  const text = value.trim();
  if (unit && /^(?:\d+\.?\d*|\.\d+)$/.test(text)) return Number(text) * MS_PER_UNIT[unit]!;
  if (!DURATION_PATTERN.test(text)) return undefined;
  let total = 0;
  for (const [, amount, partUnit] of text.matchAll(PART)) total += Number(amount) * MS_PER_UNIT[partUnit!]!;
  return total;
}

/**
 * Seconds in a value of zot's auth keys (`failDelay`, `queryTimeout`): a number or numeric string
 * is seconds, anything else a Go duration (`"2s"`, `"250ms"`). NaN when it is none of these.
 */
export function parseSeconds(value: string | number): number {
  const ms = parseDuration(value, { bareNumberUnit: 's' });
  return ms === undefined ? Number.NaN : ms / 1000;
}
