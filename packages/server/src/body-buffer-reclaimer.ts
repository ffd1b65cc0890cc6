/**
 * An opt-in young-generation collection (a scavenge) after every few MiB of request body, which
 * frees the buffers node's HTTP parser copies each body segment into while they are still young.
 * Why and how much, with the measurements: bench/README.md ("Request-body buffers").
 *
 * It needs V8's `gc` function, which only the process owner can expose (`node --expose-gc`; the
 * `zot-cli` launcher does): a library never sets V8 flags in the process that embeds it.
 */

/** The interval `zot-cli` uses (see bench/README.md for why 8 MiB). */
export const DEFAULT_RECLAIM_EVERY_BYTES = 8 * 1024 * 1024;

export type CollectGarbage = (options: { type: 'minor' }) => void;

/** Thrown when the option is set in a process started without `--expose-gc`. */
export class GcNotExposedError extends Error {
  constructor() {
    super(
      "reclaimBodyBuffersEvery needs V8's gc function, which this process does not expose: " +
        'start node with --expose-gc (the zot-cli launcher does), or leave reclaimBodyBuffersEvery at 0',
    );
    this.name = 'GcNotExposedError';
  }
}

/** V8's collector, when the process was started with `--expose-gc`. */
export function exposedCollector(): CollectGarbage | undefined {
  const gc = globalThis.gc;
  return typeof gc === 'function' ? (options) => gc(options) : undefined;
}

/** Runs a young-generation collection after every `everyBytes` of request body received (0: never). */
export class BodyBufferReclaimer {
  private received = 0;
  private readonly collect: CollectGarbage | undefined;

  /** `collect` defaults to V8's exposed `gc`; without one, a positive `everyBytes` throws {@link GcNotExposedError}. */
  constructor(
    private readonly everyBytes: number,
    collect?: CollectGarbage,
  ) {
    if (!Number.isFinite(everyBytes) || everyBytes < 0) {
      throw new RangeError(`reclaimBodyBuffersEvery must be a number of bytes >= 0, got ${String(everyBytes)}`);
    }
    if (everyBytes === 0) return;
    this.collect = collect ?? exposedCollector();
    if (!this.collect) throw new GcNotExposedError();
  }

  add(bytes: number): void {
    if (!this.collect) return;
    this.received += bytes;
    if (this.received < this.everyBytes) return;
    this.received = 0;
    this.collect({ type: 'minor' });
  }
}
