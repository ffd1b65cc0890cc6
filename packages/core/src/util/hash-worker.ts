import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DigestAlgorithm } from '../digest.js';

/** A running digest whose work may happen elsewhere (a worker thread). */
export interface Hasher {
  /** Feeds a chunk; resolves when more may be fed (flow control). */
  update(chunk: Buffer): Promise<void> | void;
  /** The digest of everything fed, as `algorithm:hex`. */
  digest(): Promise<string>;
  /** Gives up (the stream was aborted). */
  abort(): void;
}

// Inline so it works wherever core is installed (no separate file to resolve). Chunks arrive in
// slots of a buffer shared with the main thread; each is hashed and its slot handed back.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const shared = workerData.shared;
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'update') {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = createHash(m.algorithm)));
    h.update(new Uint8Array(shared, m.offset, m.length));
    parentPort.postMessage({ slot: m.slot });
  } else if (m.type === 'digest') {
    const h = hashes.get(m.id) ?? createHash(m.algorithm);
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: h.digest('hex') });
  } else {
    hashes.delete(m.id);
  }
});`;

// Memory the main thread shares with each worker: SLOTS chunks of SLOT_SIZE in flight at most,
// whatever the number of streams (a stream waits for a free slot: that is the flow control).
const SLOT_SIZE = 1024 * 1024;
const SLOTS = 8;

interface Reply {
  id?: number;
  slot?: number;
  digest?: string;
}

interface Session {
  onDigest(hex: string): void;
  onFailure(err: Error): void;
}

interface HashWorker {
  worker: Worker;
  view: Uint8Array;
  free: number[];
  waiting: Array<(slot: number) => void>;
  /** Streams in progress: a busy worker keeps the process alive, an idle one never does. */
  busy: number;
}

/**
 * Hashing off the event loop: whole-blob reads are verified by a worker thread while the main
 * thread moves the bytes, so verify-on-read costs a spare core's time rather than a pull's
 * throughput. Workers are unref'd while idle; if one fails, hashing falls back to the main thread.
 */
class HashPool {
  private readonly workers: HashWorker[] = [];
  private readonly sessions = new Map<number, Session>();
  private nextId = 1;
  private broken = false;

  constructor(private readonly size: number) {}

  create(algorithm: DigestAlgorithm): Hasher {
    const worker = this.pick();
    return worker ? this.remote(worker, algorithm) : local(algorithm);
  }

  private pick(): HashWorker | undefined {
    if (this.broken) return undefined;
    try {
      if (this.workers.length < this.size) this.workers.push(this.spawn());
    } catch {
      this.broken = true;
      return undefined;
    }
    return this.workers[this.nextId % this.workers.length];
  }

  private spawn(): HashWorker {
    const shared = new SharedArrayBuffer(SLOT_SIZE * SLOTS);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { shared } });
    const handle: HashWorker = { worker, view: new Uint8Array(shared), free: Array.from({ length: SLOTS }, (_, i) => i), waiting: [], busy: 0 };
    worker.on('message', (reply: Reply) => {
      if (reply.slot !== undefined) {
        const next = handle.waiting.shift();
        if (next) next(reply.slot);
        else handle.free.push(reply.slot);
      } else if (reply.id !== undefined && reply.digest !== undefined) {
        this.sessions.get(reply.id)?.onDigest(reply.digest);
      }
    });
    const fail = (err: Error): void => {
      // Every stream on it fails (its client sees a cut connection); new ones hash locally.
      this.broken = true;
      for (const session of [...this.sessions.values()]) session.onFailure(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => code !== 0 && fail(new Error(`hash worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    return handle;
  }

  private hold(handle: HashWorker, delta: 1 | -1): void {
    handle.busy += delta;
    if (handle.busy === 1 && delta === 1) handle.worker.ref();
    if (handle.busy === 0) handle.worker.unref();
  }

  private remote(handle: HashWorker, algorithm: DigestAlgorithm): Hasher {
    const id = this.nextId++;
    let open = true;
    let failure: Error | undefined;
    let finish: ((hex: string) => void) | undefined;
    let reject: ((err: Error) => void) | undefined;
    const end = (): void => {
      if (!open) return;
      open = false;
      this.sessions.delete(id);
      this.hold(handle, -1);
    };
    this.hold(handle, 1);
    this.sessions.set(id, {
      onDigest: (hex) => {
        end();
        finish?.(`${algorithm}:${hex}`);
      },
      onFailure: (err) => {
        end();
        failure = err;
        reject?.(err);
      },
    });
    const slot = (): number | Promise<number> => handle.free.pop() ?? new Promise<number>((resolve) => handle.waiting.push(resolve));
    return {
      update: async (chunk) => {
        for (let at = 0; at < chunk.length; at += SLOT_SIZE) {
          if (failure) throw failure;
          const piece = chunk.subarray(at, at + SLOT_SIZE);
          const index = await slot();
          if (!open) {
            // Aborted while waiting for the slot: pass it on, post nothing for a finished stream.
            const next = handle.waiting.shift();
            if (next) next(index);
            else handle.free.push(index);
            return;
          }
          handle.view.set(piece, index * SLOT_SIZE);
          handle.worker.postMessage({ type: 'update', id, algorithm, slot: index, offset: index * SLOT_SIZE, length: piece.length });
        }
      },
      digest: () =>
        new Promise<string>((resolve, fail) => {
          if (failure) return fail(failure);
          finish = resolve;
          reject = fail;
          handle.worker.postMessage({ type: 'digest', id, algorithm });
        }),
      abort: () => {
        if (!open) return;
        end();
        handle.worker.postMessage({ type: 'abort', id });
      },
    };
  }
}

function local(algorithm: DigestAlgorithm): Hasher {
  const hash = createHash(algorithm);
  return {
    update: (chunk) => void hash.update(chunk),
    digest: async () => `${algorithm}:${hash.digest('hex')}`,
    abort: () => undefined,
  };
}

let pool: HashPool | undefined;

/** A hasher running on a worker thread when possible (one per spare core, at most four). */
export function offThreadHasher(algorithm: DigestAlgorithm): Hasher {
  pool ??= new HashPool(Math.max(1, Math.min(4, availableParallelism() - 1)));
  return pool.create(algorithm);
}
