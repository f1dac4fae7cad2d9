// A DSP worker thread of the DspPool: renders chunks (chunk-renderer.ts, on this thread's kernels) and sends the stem
// audio back, transferring the buffers instead of copying them.
import { parentPort } from 'node:worker_threads';
import { XumxError } from '../errors.ts';
import { loadDspKernels } from '../dsp/kernels/index.ts';
import { ChunkRenderer } from './chunk-renderer.ts';
import { UNDELIVERED, type FromDspWorker, type ToDspWorker } from './dsp-messages.ts';

const port = parentPort;
if (!port) throw new Error('dsp-worker.ts runs only as a DSP worker thread');

// A task that cannot be deserialised (e.g. one of its buffers was detached before it was sent) never reaches the
// 'message' handler; without this its chunk would be awaited forever.
port.on('messageerror', (err) =>
  port.postMessage({ id: UNDELIVERED, ok: false, message: err.message } satisfies FromDspWorker),
);

const ready = loadDspKernels().then((kernels) => new ChunkRenderer(kernels));
ready.catch(() => {}); // reported per chunk below

port.on('message', async ({ id, task }: ToDspWorker) => {
  try {
    const renderer = await ready;
    const times = { stft: 0, wiener: 0, istft: 0 };
    const stems = renderer.renderNow(task, times);
    const msg: FromDspWorker = { id, ok: true, stems, ...times };
    port.postMessage(
      msg,
      stems.flat().map((a) => a.buffer as ArrayBuffer),
    );
  } catch (err) {
    port.postMessage({
      id,
      ok: false,
      message: err instanceof Error ? err.message : String(err),
      ...(err instanceof XumxError ? { code: err.code } : {}),
    } satisfies FromDspWorker);
  }
});
