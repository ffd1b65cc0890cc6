import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Node's HTTP parser copies every request-body segment (up to 64 KiB) into a fresh buffer. Those
 * small objects die young, but their memory sits outside V8's heap: unless a young-generation
 * collection runs in the meantime, they pile up until V8's external-memory limit forces a full
 * mark-compact, about 20 times per 512 MiB pushed, with tens of MB of dead buffers held
 * between them. A young-generation collection (a scavenge, about a millisecond) after every few
 * MiB of request body frees them while they are young instead. Measured with a 512 MiB push on
 * the 2-core benchmark machine: mark-compacts 20 -> 0 per push, peak RSS about 117 -> 98 MB,
 * throughput the same or better. 8 MiB: with 2 MiB, buffers still in flight survive two
 * scavenges, get promoted, and the full collections come back.
 */
export const DEFAULT_RECLAIM_EVERY_BYTES = 8 * 1024 * 1024;

export type CollectGarbage = (options: { type: 'minor' | 'major' }) => void;

let collector: CollectGarbage | null | undefined;

/** V8's `gc` function, without `--expose-gc` on the command line and without a global `gc`. */
function youngCollector(): CollectGarbage | undefined {
  if (collector === undefined) {
    try {
      // Exposes `gc` in contexts made from now on; the app's own global stays as it is.
      setFlagsFromString('--expose-gc');
      collector = runInNewContext('gc') as CollectGarbage;
    } catch {
      collector = null;
    }
  }
  return collector ?? undefined;
}

/** Runs a young-generation collection after every `everyBytes` of request body received (0: never). */
export class BodyBufferReclaimer {
  private received = 0;
  private readonly collect: CollectGarbage | undefined;

  /** `collect` defaults to V8's own collector. */
  constructor(
    private readonly everyBytes: number,
    collect?: CollectGarbage,
  ) {
    this.collect = everyBytes > 0 ? (collect ?? youngCollector()) : undefined;
  }

  add(bytes: number): void {
    if (!this.collect) return;
    this.received += bytes;
    if (this.received < this.everyBytes) return;
    this.received = 0;
    this.collect({ type: 'minor' });
  }
}
