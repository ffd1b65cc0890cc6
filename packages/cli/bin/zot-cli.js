#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --heap-growing-percent=50
// Memory settings, measured with bench/ (same throughput, about a third less memory under load):
// a 4 MiB young generation; the old generation let grow to 1.5x what survived the last full GC
// (V8 otherwise picks up to 4x under a steady request load: ~30 MB more at 64 connections);
// two malloc arenas instead of one per thread-pool thread; buffers over 128 KiB mapped and
// unmapped on their own instead of fragmenting the malloc heap after big pushes.
import { main } from '../dist/src/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(`zot-cli: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
