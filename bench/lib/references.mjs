// Physical limits measured in the same run: single-core SHA-256 (what a registry must do to every byte
// it receives) through node:crypto and through `openssl speed`.
import { createHash, randomFillSync } from 'node:crypto';
import { runChecked } from './processes.mjs';

/** node:crypto SHA-256 over 1 MiB updates for about `seconds`; bytes per second. */
export function sha256NodeRate(seconds = 1) {
  const block = randomFillSync(Buffer.allocUnsafe(1024 * 1024));
  const hash = createHash('sha256');
  for (let i = 0; i < 16; i++) hash.update(block); // warm-up
  let bytes = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let i = 0; i < 64; i++) hash.update(block);
    bytes += 64 * block.length;
    elapsed = process.hrtime.bigint() - start;
  }
  hash.digest();
  return bytes / (Number(elapsed) / 1e9);
}

/** `openssl speed -evp sha256` on 1 MiB blocks; bytes per second. */
export async function sha256OpensslRate(seconds = 2) {
  const { stdout } = await runChecked('openssl', ['speed', '-evp', 'sha256', '-bytes', '1048576', '-seconds', String(seconds)]);
  // "sha256   1497193.57k" — in 1000s of bytes per second.
  const m = /^sha256\s+([\d.]+)k\s*$/m.exec(stdout);
  if (!m) throw new Error(`cannot read openssl speed's output:\n${stdout}`);
  return Number(m[1]) * 1000;
}
