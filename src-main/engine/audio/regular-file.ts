// Opening a song for reading. Only a regular file is ever read: a named pipe blocks its opening (and every read)
// until another program writes to it, and a device such as /dev/zero never ends, so either would hang the job,
// the queue behind it and the app's shutdown. Whoever reads an input (the decoder, the estimate cache's hash)
// opens it here.
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { BigIntStats, Stats } from 'node:fs';
import type { XumxError } from '../errors.ts';
import { audioError } from './audio-error.ts';

/**
 * The open file, its size and identity (fileIdentity). The path is checked before opening (opening some devices has
 * effects of its own), and the open file again, in case the path was replaced in between; O_NONBLOCK keeps even that
 * case from blocking. It changes nothing for a regular file.
 */
export async function openRegularFile(path: string): Promise<{ fh: FileHandle; size: number; id: string }> {
  let before: Stats;
  try {
    before = await stat(path);
  } catch (err) {
    throw fileError(path, err);
  }
  refuseIrregular(path, before);
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw fileError(path, err);
  }
  try {
    const st = await fh.stat({ bigint: true });
    refuseIrregular(path, st);
    return { fh, size: Number(st.size), id: fileIdentity(st) };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

/**
 * What stays the same when a file is renamed and tells it from others: device, inode, size, modification time. From
 * a stat with `bigint: true`, of a path or of an open file.
 */
export function fileIdentity(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
}

function refuseIrregular(path: string, st: Stats | BigIntStats): void {
  if (st.isDirectory()) throw audioError('FILE_UNREADABLE', path, 'this is a folder, not a file');
  if (!st.isFile()) throw audioError('FILE_UNREADABLE', path, 'this is not a regular file (device, pipe or socket)');
}

export function fileError(path: string, err: unknown): XumxError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return audioError('FILE_NOT_FOUND', path, 'no such file', err);
  if (code === 'EACCES' || code === 'EPERM')
    return audioError('FILE_UNREADABLE', path, 'permission denied: the file cannot be read', err);
  if (code === 'EISDIR') return audioError('FILE_UNREADABLE', path, 'this is a folder, not a file', err);
  return audioError(
    'FILE_UNREADABLE',
    path,
    `the file cannot be read (${code ?? (err as Error)?.message ?? 'unknown error'})`,
    err,
  );
}
