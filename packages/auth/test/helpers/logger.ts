import type { Logger } from '@zotjs/core';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

/** A logger that keeps every line, to assert on what was (and was not) logged. */
export function captureLogger(): { logger: Logger; lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg: msg ?? '' });
    };
  return {
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    lines,
    text: () =>
      lines
        .map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.obj, (_k, v: unknown) => (v instanceof Error ? { message: v.message } : v))}`)
        .join('\n'),
  };
}
