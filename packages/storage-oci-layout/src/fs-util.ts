import { randomBytes } from 'node:crypto';
import { open as openCallback, statSync, type BigIntStats, type Stats } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/** Folders 0700 and files 0600, as zot creates them: the storage is the registry's alone. */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: DIR_MODE });
}

/** fsync a folder so a rename inside it survives a crash. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `target` with `data` atomically: write a temporary file in `tempDir` (same
 * filesystem), fsync it, rename it over the target, fsync the target's folder. Readers see the
 * old or the new content, never a mix, whatever moment the process dies.
 */
export async function writeFileAtomic(target: string, data: Uint8Array | string, tempDir: string, durable: boolean): Promise<void> {
  const temp = join(tempDir, `.tmp-${randomBytes(8).toString('hex')}`);
  const handle = await open(temp, 'wx', FILE_MODE);
  try {
    await handle.writeFile(data);
    if (durable) await handle.datasync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (durable) await syncDir(dirname(target));
}

/** Writes a new file (it must not exist), flushed to disk when `durable`. */
export async function writeFileDurable(path: string, data: Uint8Array | string, durable: boolean): Promise<void> {
  const handle = await open(path, 'wx', FILE_MODE);
  try {
    await handle.writeFile(data);
    if (durable) await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `target` with `data` unless it already exists, atomically and without ever replacing
 * it (another process may have created it and written to it meanwhile): the content is written
 * to a temporary file that is then hard-linked into place, which fails if the target exists.
 */
export async function createFileOnce(target: string, data: string, tempDir: string, durable: boolean): Promise<void> {
  const temp = join(tempDir, `.tmp-${randomBytes(8).toString('hex')}`);
  const handle = await open(temp, 'wx', FILE_MODE);
  try {
    await handle.writeFile(data);
    if (durable) await handle.datasync();
    await handle.close();
    await link(temp, target).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    });
    if (durable) await syncDir(dirname(target));
  } finally {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
  }
}

/**
 * stat on the event loop. Manifest GETs and blob HEADs stat a hot inode on every request (the
 * index cache's validity check, a blob's size): that syscall takes microseconds, while the
 * thread-pool round trip of fs.promises.stat cost a quarter of the CPU of a manifest GET.
 */
export function statNow(path: string): Stats | undefined;
export function statNow(path: string, bigint: true): BigIntStats | undefined;
export function statNow(path: string, bigint = false): Stats | BigIntStats | undefined {
  try {
    return bigint ? statSync(path, { bigint: true, throwIfNoEntry: false }) : statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** open(2) through the callback API (a file descriptor, for streams that read from it). */
export const openFile = promisify(openCallback);

/** The folder's entries; none when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Sets the file's modification (and access) time to now. */
export async function touch(file: string): Promise<void> {
  const now = new Date();
  await utimes(file, now, now);
}

export async function truncateTo(file: string, size: number): Promise<void> {
  const handle = await open(file, 'r+').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
}
