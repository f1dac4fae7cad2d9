// One way to build the errors of this stage, so every message reads `<file>: <reason>`.
import { XumxError, type ErrorCode } from '../errors.ts';

export function audioError(code: ErrorCode, file: string, reason: string, cause?: unknown): XumxError {
  return new XumxError(code, `${file}: ${reason}`, file, cause === undefined ? undefined : { cause });
}

/** A four-character code (box type, codec tag) as it may appear in a message: anything unprintable becomes "?". */
export function printable(code: string): string {
  return code.replace(/[^\x20-\x7e]/g, '?');
}
