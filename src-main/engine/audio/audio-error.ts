// One way to build the errors of this stage, so every message reads `<file>: <reason>`.
import { XumxError, type ErrorCode } from '../errors.ts';

export function audioError(code: ErrorCode, file: string, reason: string, cause?: unknown): XumxError {
  return new XumxError(code, `${file}: ${reason}`, file, cause === undefined ? undefined : { cause });
}
