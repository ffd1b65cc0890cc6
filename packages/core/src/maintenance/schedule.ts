import type { Logger } from '../http/handler.js';

export interface PeriodicTask {
  /** Runs a pass now (or waits for the one running) and resolves when it is over. */
  runNow(): Promise<void>;
  /** Stops scheduling, aborts a running pass and resolves once it has ended. */
  stop(): Promise<void>;
}

export interface PeriodicOptions {
  /** Name in log lines (`gc`, `scrub`). */
  name: string;
  logger?: Logger;
  /** Delay before the first pass (default: `intervalMs`). */
  initialDelayMs?: number;
}

/**
 * Runs `task` every `intervalMs` in the background, never two passes at once, without keeping
 * the process alive. A failing pass is logged and the schedule goes on.
 */
export function runPeriodically(
  task: (signal: AbortSignal) => Promise<unknown>,
  intervalMs: number,
  options: PeriodicOptions,
): PeriodicTask {
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const pass = (): Promise<void> => {
    if (running) return running;
    running = (async () => {
      try {
        await task(controller.signal);
      } catch (err) {
        if (!controller.signal.aborted) options.logger?.error({ err, task: options.name }, `${options.name}: pass failed`);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const schedule = (delay: number): void => {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => void pass().then(() => schedule(intervalMs)), delay);
    timer.unref();
  };
  schedule(options.initialDelayMs ?? intervalMs);

  return {
    runNow: pass,
    async stop() {
      controller.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
