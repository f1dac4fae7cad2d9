// The HTTP status an error is answered with, by its code: the one table browser mode (web/server.ts: calls, uploads,
// stem files, the listening route) and the desktop app's app:// routes (electron/main.ts) answer errors from. Every
// code has one, so a new code is given its status here. 500 is for the app's own faults; a song or stem file that
// cannot be read or used is the file's fault (403, 404, 422), a full disk the disk's (507). 409 is kept for a
// conflict with what the app holds now (not ready yet, busy, already there); the player asks again later only on
// NOT_READY (src-renderer/lib/block-source.ts).
import type { ErrorCode } from '../engine/index.ts';

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_ARGUMENT: 400,
  FILE_UNREADABLE: 403,
  OUTPUT_NOT_WRITABLE: 403,
  MODEL_NOT_REMOVABLE: 403,
  FILE_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  NOT_READY: 409,
  NOT_CACHED: 409,
  OUTPUT_BUSY: 409,
  OUTPUT_EXISTS: 409,
  CANCELLED: 410,
  FILE_TOO_LARGE: 413,
  FILE_EMPTY: 422,
  NOT_AUDIO: 422,
  UNSUPPORTED_CODEC: 422,
  UNSUPPORTED_SAMPLE_RATE: 422,
  TRUNCATED: 422,
  ZERO_LENGTH_AUDIO: 422,
  DECODE_FAILED: 422,
  MODEL_MISSING_FILE: 422,
  MODEL_CORRUPT: 422,
  MODEL_BAD_SHAPE: 422,
  MODEL_BAD_MANIFEST: 422,
  CONVERT_FAILED: 422,
  // The encoder failing on audio the app made, and the app's own estimate cache damaged: the app's faults.
  ENCODE_FAILED: 500,
  CACHE_CORRUPT: 500,
  INTERNAL: 500,
  DOWNLOAD_FAILED: 502,
  DOWNLOAD_CORRUPT: 502,
  NO_MODEL: 503,
  EP_UNAVAILABLE: 503,
  NO_NETWORK: 503,
  DISK_FULL: 507,
};

/** The status of `code`; one no error has (the API's errors carry their code as text) is the app's fault. */
export function httpStatusFor(code: string): number {
  return Object.hasOwn(HTTP_STATUS, code) ? HTTP_STATUS[code as ErrorCode] : 500;
}
