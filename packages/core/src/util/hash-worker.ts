import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DigestAlgorithm } from '../digest.js';

/** A running digest whose work may happen elsewhere (a worker thread). */
export interface Hasher {
  /** Feeds a chunk (copied: the caller keeps it); resolves when more may be fed (flow control). */
  update(chunk: Buffer): Promise<void> | void;
  /** Hands over what is buffered, so nothing is held between chunks of a long-lived session. */
  flush(): void;
  /** The digest of everything fed so far, as `algorithm:hex`; feeding may go on afterwards. */
  peek(): Promise<string>;
  /** The digest of everything fed, as `algorithm:hex`; the hasher is finished. */
  digest(): Promise<string>;
  /** Gives up (the stream was aborted, the session ended). */
  abort(): void;
}

// Inline so it works wherever core is installed (no separate file to resolve). Each message
// carries a batch whose memory is transferred, not copied, and is handed back once hashed.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'update') {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = createHash(m.algorithm)));
    h.update(new Uint8Array(m.buffer, 0, m.length));
    parentPort.postMessage({ id: m.id, buffer: m.buffer }, [m.buffer]);
  } else if (m.type === 'digest') {
    const h = hashes.get(m.id) ?? createHash(m.algorithm);
    if (!m.keep) hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: (m.keep ? h.copy() : h).digest('hex') });
  } else {
    hashes.delete(m.id);
  }
});`;

// Bytes are gathered into batches of BATCH (one message each, instead of one per 64 KiB socket
// read); at most IN_FLIGHT batches per stream wait for the worker. So a stream holds at most
// (IN_FLIGHT + 1) * BATCH of memory, and a slow client slows only its own stream. Batches come
// back from the worker and are refilled: fresh memory for every megabyte would cost page faults
// and garbage collections that, on two cores, slow a push more than the hashing itself.
const BATCH = 1024 * 1024;
const IN_FLIGHT = 2;

interface Reply {
  id: number;
  /** A hashed batch, handed back. */
  buffer?: ArrayBuffer;
  digest?: string;
}

/** The main thread's side of one stream being hashed by a worker. */
interface Stream {
  onHashed(buffer: ArrayBuffer): void;
  onDigest(hex: string): void;
  onFailure(err: Error): void;
}

interface HashWorker {
  worker: Worker;
  /** Replies still due: a worker with work keeps the process alive, an idle one never does. */
  due: number;
}

/**
 * Hashing off the event loop: pushed blobs and verified reads are hashed by a worker thread
 * while the main thread moves the bytes, so digest verification costs a spare core's time rather
 * than the transfer's throughput. Workers are unref'd while idle; if one fails, its streams
 * fail and hashing falls back to the main thread.
 */
class HashPool {
  private readonly workers: HashWorker[] = [];
  private readonly streams = new Map<number, Stream>();
  private nextId = 1;
  private broken = false;

  constructor(private readonly size: number) {}

  create(algorithm: DigestAlgorithm): Hasher {
    const worker = this.pick();
    return worker ? this.remote(worker, algorithm) : localHasher(algorithm);
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
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const handle: HashWorker = { worker, due: 0 };
    worker.on('message', (reply: Reply) => {
      if (--handle.due === 0) worker.unref();
      const stream = this.streams.get(reply.id);
      if (!stream) return;
      if (reply.buffer) stream.onHashed(reply.buffer);
      else if (reply.digest !== undefined) stream.onDigest(reply.digest);
    });
    const fail = (err: Error): void => {
      // Every stream on it fails (a download's client sees a cut connection); new ones hash locally.
      this.broken = true;
      for (const stream of [...this.streams.values()]) stream.onFailure(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => code !== 0 && fail(new Error(`hash worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    return handle;
  }

  /** Posts a message the worker answers (every message but 'abort'). */
  private send(handle: HashWorker, message: object, transfer?: ArrayBuffer[]): void {
    if (handle.due++ === 0) handle.worker.ref();
    handle.worker.postMessage(message, transfer);
  }

  private remote(handle: HashWorker, algorithm: DigestAlgorithm): Hasher {
    const id = this.nextId++;
    let open = true;
    let failure: Error | undefined;
    let batch: Buffer | undefined;
    let filled = 0;
    const spare: Buffer[] = [];
    let releaseOnReturn = false;
    let inFlight = 0;
    let wakeUp: (() => void) | undefined;
    const digestWaiters: Array<{ resolve: (hex: string) => void; reject: (err: Error) => void }> = [];

    const end = (): void => {
      if (!open) return;
      open = false;
      this.streams.delete(id);
    };
    const fail = (err: Error): void => {
      failure ??= err;
      end();
      wakeUp?.();
      for (const waiter of digestWaiters.splice(0)) waiter.reject(err);
    };
    this.streams.set(id, {
      onHashed: (buffer) => {
        inFlight--;
        if (open && !releaseOnReturn) spare.push(Buffer.from(buffer));
        const wake = wakeUp;
        wakeUp = undefined;
        wake?.();
      },
      onDigest: (hex) => digestWaiters.shift()?.resolve(`${algorithm}:${hex}`),
      onFailure: fail,
    });

    const post = (): void => {
      if (!batch || filled === 0) return;
      const buffer = batch.buffer as ArrayBuffer; // allocUnsafeSlow: its own, never shared
      this.send(handle, { type: 'update', id, algorithm, buffer, length: filled }, [buffer]);
      inFlight++;
      batch = undefined;
      filled = 0;
    };
    const room = async (): Promise<void> => {
      while (inFlight >= IN_FLIGHT && !failure) await new Promise<void>((resolve) => (wakeUp = resolve));
      if (failure) throw failure;
    };
    const askDigest = (keep: boolean): Promise<string> => {
      if (failure) return Promise.reject(failure);
      if (!open) return Promise.reject(new Error('hasher already finished'));
      post();
      const answer = new Promise<string>((resolve, reject) => digestWaiters.push({ resolve, reject }));
      this.send(handle, { type: 'digest', id, algorithm, keep });
      return keep ? answer : answer.finally(end);
    };

    return {
      update: (chunk) => {
        if (failure) throw failure;
        if (!open) throw new Error('hasher already finished');
        releaseOnReturn = false;
        let at = 0;
        const copy = (): boolean => {
          while (at < chunk.length) {
            // Its own ArrayBuffer (not the shared pool) so it can be transferred.
            batch ??= spare.pop() ?? Buffer.allocUnsafeSlow(BATCH);
            const n = chunk.copy(batch, filled, at);
            filled += n;
            at += n;
            if (filled === BATCH) {
              post();
              if (inFlight >= IN_FLIGHT) return false;
            }
          }
          return true;
        };
        if (copy()) return;
        return (async () => {
          do await room();
          while (!copy());
        })();
      },
      flush: () => {
        if (open && !failure) post();
        // Between the requests of a session nothing is held; the batches in flight are dropped on return.
        spare.length = 0;
        releaseOnReturn = true;
      },
      peek: () => askDigest(true),
      digest: () => askDigest(false),
      abort: () => {
        if (!open) return;
        end();
        batch = undefined;
        handle.worker.postMessage({ type: 'abort', id });
      },
    };
  }
}

/**
 * Feeds `chunk` and calls `done` once more may be fed (at once when the hasher took it
 * synchronously), or with the hasher's error: the shape a Transform's callback wants.
 */
export function feedHasher(hasher: Hasher, chunk: Buffer, done: (err?: Error) => void): void {
  let fed: Promise<void> | void;
  try {
    fed = hasher.update(chunk);
  } catch (err) {
    done(err as Error);
    return;
  }
  if (fed) fed.then(() => done(), done);
  else done();
}

/** The same interface on the main thread (no worker available). */
export function localHasher(algorithm: DigestAlgorithm): Hasher {
  const hash: Hash = createHash(algorithm);
  return {
    update: (chunk) => void hash.update(chunk),
    flush: () => undefined,
    peek: async () => `${algorithm}:${hash.copy().digest('hex')}`,
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
