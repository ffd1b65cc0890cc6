#!/usr/bin/env -S node --max-semi-space-size=4
// A 4 MiB young generation: same request rates (measured with bench/), ~30 MB less memory under load.
import { main } from '../dist/src/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(`zot-cli: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
