/** htpasswd files made by the real `htpasswd` tool (Debian's apache2-utils). */
import { existsSync } from 'node:fs';
import { run } from './run.js';

export type HtpasswdFormat = 'bcrypt' | 'md5' | 'sha1';

const FLAGS: Record<HtpasswdFormat, string> = { bcrypt: '-B', md5: '-m', sha1: '-s' };

export function htpasswdAvailable(): boolean {
  return existsSync('/usr/bin/htpasswd');
}

/** Adds (or replaces) a user in `path`, creating the file if needed. The password goes on stdin. */
export async function htpasswdSet(path: string, username: string, password: string, format: HtpasswdFormat = 'bcrypt'): Promise<void> {
  const create = existsSync(path) ? [] : ['-c'];
  await run('htpasswd', [...create, '-i', FLAGS[format], path, username], { input: password });
}

export async function htpasswdDelete(path: string, username: string): Promise<void> {
  await run('htpasswd', ['-D', path, username]);
}
