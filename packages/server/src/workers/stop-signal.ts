import cluster from 'node:cluster';

export interface StopSignal {
  /** Resolves with the name of the signal that asked this process to stop. */
  stopped: Promise<NodeJS.Signals>;
  /**
   * Removes the signal handlers. In a worker it also closes the channel to the supervisor, which
   * would otherwise keep the stopped process alive: call it once the server has closed.
   */
  release(): void;
}

export interface StopSignalOptions {
  /**
   * A second signal while stopping: the operator does not want to wait for in-flight requests.
   * Default: exit at once with code 1.
   */
  onRepeat?: (signal: NodeJS.Signals) => void;
}

/**
 * When a server process should stop. A single process (or a supervisor) stops on SIGINT or
 * SIGTERM. A worker stops on SIGTERM only, which its supervisor sends: Ctrl-C on a terminal
 * reaches the whole process group, and only the supervisor should act on it, so a worker
 * ignores SIGINT until {@link StopSignal.release}.
 */
export function processStopSignal(options: StopSignalOptions = {}): StopSignal {
  const worker = cluster.isWorker;
  const signals: readonly NodeJS.Signals[] = worker ? ['SIGTERM'] : ['SIGINT', 'SIGTERM'];
  const ignoreInterrupt = (): void => undefined;
  if (worker) process.on('SIGINT', ignoreInterrupt);
  const onRepeat = options.onRepeat ?? (() => process.exit(1));
  let stopping = false;
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => {
      if (stopping) {
        onRepeat(signal);
        return;
      }
      stopping = true;
      resolve(signal);
    };
  });
  for (const signal of signals) process.on(signal, onSignal);
  return {
    stopped,
    release() {
      for (const signal of signals) process.off(signal, onSignal);
      process.off('SIGINT', ignoreInterrupt);
      if (worker) process.disconnect?.();
    },
  };
}
