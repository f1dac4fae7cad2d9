// Free-space check before a large write (a model download and its conversion): refuses up front, with the numbers,
// instead of failing half-way with ENOSPC. statfs is injected so tests can play a full disk.
import { statfs as fsStatfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { XumxError } from '../errors.ts';

export type StatFs = (path: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;

export function megabytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${Math.ceil(n / 1e6)} MB`;
}

/** Free bytes for this user on the file system holding `path` (or its nearest existing parent). */
export async function freeBytes(path: string, statfs: StatFs = fsStatfs): Promise<number> {
  let at = path;
  for (;;) {
    try {
      const s = await statfs(at);
      return Number(s.bavail) * Number(s.bsize);
    } catch (err) {
      const parent = dirname(at);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw err;
      at = parent;
    }
  }
}

/** Throws DISK_FULL naming what is needed and what is free when `needed` bytes do not fit under `path`. */
export async function ensureFreeSpace(
  path: string,
  needed: number,
  what: string,
  statfs: StatFs = fsStatfs,
): Promise<void> {
  let free: number;
  try {
    free = await freeBytes(path, statfs);
  } catch {
    return; // a file system that cannot say is not refused: the write itself will tell
  }
  if (free < needed) {
    throw new XumxError(
      'DISK_FULL',
      `${path}: ${what} needs ${megabytes(needed)} of free disk space, only ${megabytes(free)} are free; free some space and try again`,
      path,
    );
  }
}
