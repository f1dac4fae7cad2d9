// Runs a conversion (import-xumx.ts) on its own worker thread. Cancelling kills the thread and removes the folder
// it was assembling, so a cancelled conversion leaves nothing behind and the caller's thread never blocks.
import { rm } from 'node:fs/promises';
import { startWorker } from '../workers.ts';
import { XumxError } from '../errors.ts';
import type { FromConvertWorker } from './convert-messages.ts';
import { conversionTmpDir, type ImportOptions, type ImportResult } from './import-xumx.ts';

export function convertInWorker(opts: ImportOptions): Promise<ImportResult> {
  const { onStage, signal, ...data } = opts;
  const tmpDir = opts.tmpDir ?? conversionTmpDir(opts.modelsDir, opts.source.id);
  const cancelled = () => new XumxError('CANCELLED', `${opts.h5Path}: conversion cancelled`, opts.h5Path);
  if (signal?.aborted) return Promise.reject(cancelled());
  const worker = startWorker(import.meta.url, 'convert-worker', { workerData: { ...data, tmpDir } });
  return new Promise<ImportResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const killed = (err: XumxError) => {
      void worker
        .terminate()
        .then(() => rm(tmpDir, { recursive: true, force: true }))
        .catch(() => undefined)
        .then(() => finish(() => reject(err)));
    };
    const onAbort = () => killed(cancelled());
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: FromConvertWorker) => {
      if (m.type === 'stage') onStage?.(m.stage);
      else if (m.type === 'done') finish(() => resolve(m.result));
      else finish(() => reject(new XumxError(m.error.code, m.error.message, m.error.file)));
    });
    worker.on('error', (err) =>
      killed(
        new XumxError('CONVERT_FAILED', `${opts.h5Path}: the conversion thread stopped (${err.message})`, opts.h5Path),
      ),
    );
    worker.on('exit', (code) => {
      if (!settled)
        killed(
          new XumxError('CONVERT_FAILED', `${opts.h5Path}: the conversion thread exited (code ${code})`, opts.h5Path),
        );
    });
  });
}
