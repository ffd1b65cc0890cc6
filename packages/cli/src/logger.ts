import { dirname } from 'node:path';
import { mkdirSync } from 'node:fs';
import { pino, type Logger, type DestinationStream } from 'pino';

export interface CliLogger {
  logger: Logger;
  /** Writes out anything buffered (call before the process exits). */
  flush(): void;
}

/** Structured JSON logs (pino) to stdout, or appended to `output`. */
export function createLogger(level: string, output?: string): CliLogger {
  let destination: DestinationStream & { flushSync?: () => void };
  if (output) {
    mkdirSync(dirname(output), { recursive: true });
    destination = pino.destination({ dest: output, append: true, sync: false, mkdir: true });
  } else {
    destination = pino.destination({ dest: 1, sync: true });
  }
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      // Belt and braces: nothing logs headers, but if an error object carries them they stay out.
      redact: { paths: ['headers.authorization', '*.headers.authorization', 'password', '*.password'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
  return {
    logger,
    flush() {
      try {
        destination.flushSync?.();
      } catch {
        // nothing buffered (sync destination) or the file went away: nothing more to do
      }
    },
  };
}
