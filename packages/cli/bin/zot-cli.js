#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --heap-growing-percent=150
// Memory settings, measured with bench/: a 4 MiB young generation; the old generation let grow to
// 2.5x what survived the last full GC (V8 otherwise picks up to 4x under a steady request load:
// peak RSS at 64 connections 91-92 MB at 2.5x, 84-105 MB with V8's choice). Not 1.5x (83-87 MB):
// then the headroom above a live heap of ~9 MB is smaller than the young generation, and V8 ran
// a full mark-compact for every 16 MiB PATCH and every ~35 MiB of a monolithic push, which cost
// a third of the push throughput;
// two malloc arenas instead of one per thread-pool thread; buffers over 128 KiB mapped and
// unmapped on their own instead of fragmenting the malloc heap after big pushes.
import { main } from '../dist/src/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(`zot-cli: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
