// What the conversion thread (convert-worker.ts) sends back; errors travel as plain values.
import type { ErrorCode } from '../errors.ts';
import type { ConvertStage, ImportResult } from './import-xumx.ts';

export type FromConvertWorker =
  | { type: 'stage'; stage: ConvertStage }
  | { type: 'done'; result: ImportResult }
  | { type: 'error'; error: { code: ErrorCode; message: string; file?: string } };
