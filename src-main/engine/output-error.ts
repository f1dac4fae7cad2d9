// What a failed write means to the user, for every file the app writes (stems, mixes, stem files, exports): a full
// disk is DISK_FULL, anything else "cannot write output here" with the reason in words. Errors name the file the user asked
// for, never a temporary name.
import { XumxError } from './errors.ts';

const REASONS: Record<string, string> = {
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  EISDIR: 'a folder with that name is in the way',
  EEXIST: 'a file with that name is in the way',
  EFBIG: 'the file is too large for this file system',
  ENAMETOOLONG: 'the name is too long for this file system',
};

export function outputError(err: unknown, path: string): XumxError {
  if (err instanceof XumxError) return err;
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new XumxError('DISK_FULL', `${path}: the disk is full; nothing was written`, path, { cause: err });
  }
  return new XumxError('OUTPUT_NOT_WRITABLE', `${path}: cannot write output here (${writeFailureReason(err)})`, path, {
    cause: err,
  });
}

/** Why a write failed, in words (a full disk included). */
export function writeFailureReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'the disk is full';
  return REASONS[code] ?? (code || ((err as Error)?.message ?? String(err)));
}
