// The htpasswd (bcrypt) file both registries check in auth passes.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { runChecked } from './processes.mjs';

/** Returns { file, username, password, header } where header is the Basic Authorization value. */
export async function createHtpasswd(file, username = 'bench') {
  const password = randomBytes(12).toString('base64url');
  // -B: bcrypt at htpasswd's default cost, as `htpasswd -bBn` in zot's and distribution's docs.
  const { stdout } = await runChecked('htpasswd', ['-nbB', username, password]);
  writeFileSync(file, `${stdout.trim()}\n`, { mode: 0o600 });
  const header = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return { file, username, password, header };
}
