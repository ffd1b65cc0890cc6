// Minimal blob upload endpoints on node:http (or node:https), the bounds of a Node registry on this
// machine with this client. They speak just enough of the upload protocol for the benchmark's client
// (POST, PATCH, PUT ?digest=, DELETE):
//   receive  drops every body byte: the transport alone.
//   store    does the least a registry must: appends the bytes to a file, hashes them with SHA-256
//            on a worker thread (1 MiB batches, transferred), flushes the file in the background every
//            32 MiB and fdatasyncs it before answering, and answers 400 when the digest does not
//            match. No framework, no registry logic.
// Usage: node sink-server.mjs <receive|store> <port> <dir> [certFile keyFile]
import { closeSync, fdatasync, openSync, readFileSync, rmSync, write } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const [mode, port, dir, certFile, keyFile] = process.argv.slice(2);
const BATCH = 1024 * 1024;
const MAX_WRITES = 16;
const FLUSH_EVERY = 32 * 1024 * 1024;
let nextSession = 1;
/** id -> { file, fd, offset, unflushed, syncing, syncError, hasher, hashBusy } (store mode) */
const sessions = new Map();

// SHA-256 on one worker thread for all sessions (as a registry would keep one, started once): bytes
// gathered into 1 MiB batches, each transferred (not copied) and handed back once hashed.
const worker = new Worker(
  `const { parentPort } = require('node:worker_threads');
   const { createHash } = require('node:crypto');
   const hashes = new Map();
   parentPort.on('message', ({ id, buffer, length }) => {
     if (!hashes.has(id)) hashes.set(id, createHash('sha256'));
     if (buffer) {
       hashes.get(id).update(new Uint8Array(buffer, 0, length));
       parentPort.postMessage({ id, buffer }, [buffer]);
     } else {
       parentPort.postMessage({ id, hex: hashes.get(id).digest('hex') });
       hashes.delete(id);
     }
   });`,
  { eval: true },
);
/** id -> the session's hasher, for the worker's answers */
const hashers = new Map();
worker.on('message', ({ id, buffer, hex }) => hashers.get(id)?.answer(buffer, hex));

function workerHasher(id) {
  const spare = [];
  let batch;
  let filled = 0;
  let inFlight = 0;
  let onIdle;
  let onDigest;
  const post = () => {
    worker.postMessage({ id, buffer: batch.buffer, length: filled }, [batch.buffer]);
    inFlight++;
    batch = undefined;
    filled = 0;
  };
  const hasher = {
    answer(buffer, hex) {
      if (hex !== undefined) return onDigest(hex);
      inFlight--;
      spare.push(Buffer.from(buffer));
      onIdle?.();
    },
    /** Returns true when the caller should wait for `whenIdle` before feeding more. */
    update(chunk) {
      for (let at = 0; at < chunk.length; ) {
        batch ??= spare.pop() ?? Buffer.allocUnsafeSlow(BATCH);
        const n = chunk.copy(batch, filled, at);
        filled += n;
        at += n;
        if (filled === BATCH) post();
      }
      return inFlight >= 2;
    },
    whenIdle: (resume) => (onIdle = () => inFlight < 2 && ((onIdle = undefined), resume())),
    digest() {
      if (filled > 0) post();
      return new Promise((resolve) => {
        onDigest = (hex) => {
          hashers.delete(id);
          resolve(`sha256:${hex}`);
        };
        worker.postMessage({ id });
      });
    },
  };
  hashers.set(id, hasher);
  return hasher;
}

/**
 * Appends the request's body to the session's file and hashes it, with backpressure both ways: at
 * most MAX_WRITES writes in flight (each at its own offset, so the thread pool may run them in any
 * order) and at most two batches waiting for the hashing thread.
 */
function store(req, session, done) {
  let writing = 0;
  let ended = false;
  let failed;
  const blocked = () => writing >= MAX_WRITES || session.hashBusy;
  const unblock = () => !blocked() && req.resume();
  const maybeDone = () => ended && writing === 0 && done(failed);
  req.on('data', (chunk) => {
    writing++;
    write(session.fd, chunk, 0, chunk.length, session.offset, (err) => {
      failed ??= err;
      writing--;
      session.unflushed += chunk.length;
      if (session.unflushed >= FLUSH_EVERY && !session.syncing) flushInBackground(session);
      unblock();
      maybeDone();
    });
    session.offset += chunk.length;
    if (session.hasher.update(chunk)) {
      session.hashBusy = true;
      session.hasher.whenIdle(() => {
        session.hashBusy = false;
        unblock();
      });
    }
    if (blocked()) req.pause();
  });
  req.on('end', () => {
    ended = true;
    maybeDone();
  });
}

/** Starts writing the file back while more bytes come in, so the last fsync has little left to do. */
function flushInBackground(session) {
  session.unflushed = 0;
  session.syncing = new Promise((resolve) =>
    fdatasync(session.fd, (err) => {
      session.syncing = undefined;
      session.syncError ??= err ?? undefined;
      resolve();
    }),
  );
}

function answer(res, status, headers = {}) {
  res.writeHead(status, { 'Content-Length': 0, ...headers });
  res.end();
}

function handle(req, res) {
  const url = new URL(req.url, 'http://sink');
  const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname);
  const session = upload && sessions.get(upload[2]);
  if (req.method === 'POST' && upload) {
    const id = String(nextSession++);
    if (mode === 'store') {
      const file = join(dir, `upload-${id}`);
      sessions.set(id, {
        file,
        fd: openSync(file, 'w', 0o600),
        offset: 0,
        unflushed: 0,
        syncing: undefined,
        syncError: undefined,
        hasher: workerHasher(id),
        hashBusy: false,
      });
    }
    req.resume();
    return answer(res, 202, { Location: `/v2/${upload[1]}/blobs/uploads/${id}` });
  }
  if ((req.method === 'PATCH' || req.method === 'PUT') && upload && mode === 'receive') {
    req.resume();
    return req.on('end', () => answer(res, req.method === 'PUT' ? 201 : 202, { Location: url.pathname }));
  }
  if ((req.method === 'PATCH' || req.method === 'PUT') && session) {
    return store(req, session, (err) => {
      if (err) return answer(res, 500);
      if (req.method === 'PATCH') return answer(res, 202, { Location: url.pathname });
      sessions.delete(upload[2]);
      // A background flush still running is waited for (never close under it), then the last one.
      const background = session.syncing ?? Promise.resolve();
      background.then(() =>
        fdatasync(session.fd, async (lastError) => {
          const syncError = session.syncError ?? lastError;
          closeSync(session.fd);
          const digest = await session.hasher.digest();
          rmSync(session.file, { force: true }); // the bytes were stored and verified; keep the disk clean
          answer(res, syncError ? 500 : digest === url.searchParams.get('digest') ? 201 : 400);
        }),
      );
    });
  }
  req.resume();
  req.on('end', () => answer(res, req.method === 'DELETE' ? 202 : req.method === 'GET' && url.pathname === '/v2/' ? 200 : 404));
}

const server = certFile
  ? https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handle)
  : http.createServer(handle);
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
server.on('close', () => worker.terminate());
