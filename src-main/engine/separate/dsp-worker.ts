// A DSP worker thread of the DspPool: renders chunks (chunk-renderer.ts, on this thread's kernels) and sends the stem
// audio back, transferring the buffers instead of copying them. Chunks wait here in two lanes (lanes.ts): the pool
// sends an urgent one (a block a listener waits for) while this thread still holds a normal one, which it then passes.
import { parentPort } from 'node:worker_threads';
import { XumxError } from '../errors.ts';
import { loadDspKernels } from '../dsp/kernels/index.ts';
import { ChunkRenderer } from './chunk-renderer.ts';
import { LaneQueue } from './lanes.ts';
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

type Render = Extract<ToDspWorker, { type: 'render' }>;
const queue = new LaneQueue<Render>();
let scheduled = false;

port.on('message', (msg: ToDspWorker) => {
  if (msg.type === 'cancel') {
    if (queue.remove((r) => r.id === msg.id))
      port.postMessage({ id: msg.id, ok: false, message: 'cancelled', code: 'CANCELLED' } satisfies FromDspWorker);
    return;
  }
  queue.push(msg, msg.urgent);
  schedule();
});

// One chunk per turn of the event loop: the messages that came while a chunk rendered (an urgent chunk, a cancel)
// are taken in before the next one is chosen.
function schedule(): void {
  if (scheduled || queue.size === 0) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    const next = queue.shift();
    if (next) void renderOne(next).finally(schedule);
  });
}

async function renderOne({ id, task }: Render): Promise<void> {
  try {
    const renderer = await ready;
    const times = { stft: 0, wiener: 0, istft: 0 };
    const stems = renderer.renderNow(task, times);
    const msg: FromDspWorker = { id, ok: true, stems, ...times };
    port!.postMessage(
      msg,
      stems.flat().map((a) => a.buffer as ArrayBuffer),
    );
  } catch (err) {
    port!.postMessage({
      id,
      ok: false,
      message: err instanceof Error ? err.message : String(err),
      ...(err instanceof XumxError ? { code: err.code } : {}),
    } satisfies FromDspWorker);
  }
}
