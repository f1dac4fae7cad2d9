// The conversion thread: runs one importNnablaXumx (HDF5 reading and ONNX building take seconds of CPU) away from
// the thread that serves the UI, and reports its stages. Started by convert-in-worker.ts; ends after one job.
import { parentPort, workerData } from 'node:worker_threads';
import { asXumxError } from '../errors.ts';
import { importNnablaXumx, type ImportOptions } from './import-xumx.ts';
import type { FromConvertWorker } from './convert-messages.ts';

const port = parentPort;
if (!port) throw new Error('convert-worker.ts runs only as a worker thread');
const post = (m: FromConvertWorker) => port.postMessage(m);

try {
  const result = await importNnablaXumx({
    ...(workerData as ImportOptions),
    onStage: (stage) => post({ type: 'stage', stage }),
  });
  post({ type: 'done', result });
} catch (err) {
  const e = asXumxError(err);
  post({ type: 'error', error: { code: e.code, message: e.message, ...(e.file ? { file: e.file } : {}) } });
}
