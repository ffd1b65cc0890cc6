#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --heap-growing-percent=150
// The process's memory settings, each measured with bench/ (figures and reasons: bench/README.md,
// "Memory settings of the zot-cli launcher"): a 4 MiB young generation; the old generation let
// grow to 2.5x what survived the last full GC; two malloc arenas; buffers over 128 KiB mapped on
// their own; and V8's gc function exposed, for `zot-cli serve`'s young-generation collection
// every 8 MiB of request body (`reclaimBodyBuffersEvery` of @zotjs/server).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { main } from '../dist/src/main.js';

// What `node --expose-gc` does, done here because the line above has no room left for it: Linux
// before 5.1 reads only its first 127 bytes. This file owns the process; libraries set no V8 flags.
if (typeof globalThis.gc !== 'function') {
  setFlagsFromString('--expose-gc');
  globalThis.gc = runInNewContext('gc');
}

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(`zot-cli: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
