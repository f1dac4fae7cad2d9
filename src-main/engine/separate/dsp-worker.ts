// A DSP worker thread of the DspPool: renders chunks (chunk-render.ts) and sends the stem audio back, transferring
// the buffers instead of copying them.
import { parentPort } from 'node:worker_threads';
import { loadDspKernels } from '../dsp/kernels/index.ts';
import { renderChunk, type ChunkTask } from './chunk-render.ts';

export type ToDspWorker = { id: number; task: ChunkTask };
export type FromDspWorker =
  | { id: number; ok: true; stems: Float32Array[][]; wiener: number; istft: number }
  | { id: number; ok: false; message: string };

const port = parentPort;
if (!port) throw new Error('dsp-worker.ts runs only as a DSP worker thread');

const ready = loadDspKernels();
ready.catch(() => {}); // reported per chunk below

port.on('message', async ({ id, task }: ToDspWorker) => {
  try {
    await ready;
    const times = { wiener: 0, istft: 0 };
    const stems = renderChunk(task, times);
    const msg: FromDspWorker = { id, ok: true, stems, ...times };
    port.postMessage(msg, stems.flat().map((a) => a.buffer as ArrayBuffer));
  } catch (err) {
    port.postMessage({ id, ok: false, message: err instanceof Error ? err.message : String(err) } satisfies FromDspWorker);
  }
});
