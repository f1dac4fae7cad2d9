// A DSP worker thread of the DspPool: renders chunks (chunk-render.ts) and sends the stem audio back, transferring
// the buffers instead of copying them.
import { parentPort } from 'node:worker_threads';
import { XumxError } from '../errors.ts';
import { loadDspKernels } from '../dsp/kernels/index.ts';
import { readRecord, recordCorrupt } from '../cache/estimate-file.ts';
import { renderChunk } from './chunk-render.ts';
import { UNDELIVERED, type FromDspWorker, type ToDspWorker } from './dsp-messages.ts';

const port = parentPort;
if (!port) throw new Error('dsp-worker.ts runs only as a DSP worker thread');

// A task that cannot be deserialised (e.g. one of its buffers was detached before it was sent) never reaches the
// 'message' handler; without this its chunk would be awaited forever.
port.on('messageerror', (err) =>
  port.postMessage({ id: UNDELIVERED, ok: false, message: err.message } satisfies FromDspWorker),
);

const ready = loadDspKernels();
/** The buffer cached records are read into, reused from chunk to chunk. */
let record: Buffer | undefined;
ready.catch(() => {}); // reported per chunk below

port.on('message', async ({ id, task }: ToDspWorker) => {
  try {
    await ready;
    const times = { stft: 0, wiener: 0, istft: 0 };
    let stems: Float32Array[][];
    if (task.cached) {
      const { payload, checksum } = readRecord(task.cached, record);
      record = Buffer.from(payload.buffer, 0, payload.buffer.byteLength); // the whole buffer, for the next chunk
      try {
        stems = renderChunk({ ...task, float24: payload, float24Checksum: checksum }, times);
      } catch (err) {
        // the kernels' reason ("checksum mismatch", a wrong length), with the file and chunk they do not know
        throw err instanceof XumxError && err.code === 'CACHE_CORRUPT' ? recordCorrupt(task.cached, err.message) : err;
      }
    } else {
      stems = renderChunk(task, times);
    }
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
