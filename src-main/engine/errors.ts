// Errors are values with a code and a human message that names the file and the reason.
// Every door (CLI, Electron IPC, browser bridge) shows `message` to the user and never a stack trace.

export type ErrorCode =
  | 'FILE_NOT_FOUND'
  | 'FILE_UNREADABLE'
  | 'FILE_EMPTY'
  | 'FILE_TOO_LARGE'
  | 'NOT_AUDIO'
  | 'UNSUPPORTED_CODEC'
  | 'UNSUPPORTED_SAMPLE_RATE'
  | 'TRUNCATED'
  | 'ZERO_LENGTH_AUDIO'
  | 'DECODE_FAILED'
  | 'OUTPUT_NOT_WRITABLE'
  | 'OUTPUT_EXISTS'
  | 'OUTPUT_BUSY'
  | 'DISK_FULL'
  | 'ENCODE_FAILED'
  | 'NO_MODEL'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_MISSING_FILE'
  | 'MODEL_CORRUPT'
  | 'MODEL_BAD_SHAPE'
  | 'MODEL_BAD_MANIFEST'
  | 'EP_UNAVAILABLE'
  | 'CANCELLED'
  | 'BAD_ARGUMENT'
  | 'DOWNLOAD_FAILED'
  | 'DOWNLOAD_CORRUPT'
  | 'NO_NETWORK'
  | 'MODEL_NOT_REMOVABLE'
  | 'CONVERT_FAILED'
  | 'CACHE_CORRUPT'
  | 'NOT_CACHED'
  | 'NOT_READY'
  | 'INTERNAL';

export class XumxError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;

  constructor(code: ErrorCode, message: string, file?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'XumxError';
    this.code = code;
    this.file = file;
  }

  toJSON(): { code: ErrorCode; message: string; file?: string } {
    return { code: this.code, message: this.message, ...(this.file ? { file: this.file } : {}) };
  }
}

/** Turns anything thrown into an XumxError without losing the original as `cause`. */
export function asXumxError(err: unknown, file?: string): XumxError {
  if (err instanceof XumxError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const where = file ? `${file}: ` : '';
  switch (e?.code) {
    case 'ENOENT':
      return new XumxError('FILE_NOT_FOUND', `${where}no such file or folder`, file, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new XumxError('FILE_UNREADABLE', `${where}permission denied`, file, { cause: err });
    case 'EISDIR':
      return new XumxError('FILE_UNREADABLE', `${where}is a folder, not a file`, file, { cause: err });
    case 'ENOSPC':
      return new XumxError('DISK_FULL', `${where}the disk is full`, file, { cause: err });
    case 'EROFS':
      return new XumxError('OUTPUT_NOT_WRITABLE', `${where}the file system is read-only`, file, { cause: err });
  }
  if (e?.name === 'AbortError') return new XumxError('CANCELLED', `${where}cancelled`, file, { cause: err });
  const msg = e instanceof Error ? e.message : String(err);
  return new XumxError('INTERNAL', `${where}${msg}`, file, { cause: err });
}
