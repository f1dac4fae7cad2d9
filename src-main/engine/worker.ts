// The engine's worker thread: the heavy work (decoding, DSP, onnxruntime) runs here so the caller's thread — a UI,
// an Electron main process, an HTTP server — stays responsive. Messages in: separate / abort / dispose;
// messages out: progress / result.
import { parentPort, workerData } from 'node:worker_threads';
import { JobRunner, type RunnerOptions } from './runner.ts';
import type { Progress, SeparateRequest, SeparationResult } from './types.ts';

export type ToWorker =
  | { type: 'separate'; id: number; req: SeparateRequest }
  | { type: 'abort'; id: number }
  | { type: 'dispose' };

export type FromWorker =
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'result'; id: number; result: SeparationResult }
  | { type: 'disposed' };

const port = parentPort;
if (!port) throw new Error('worker.ts runs only as the engine worker thread');

const runner = new JobRunner(workerData as RunnerOptions);
const controllers = new Map<number, AbortController>();
let queue: Promise<unknown> = Promise.resolve();
const post = (msg: FromWorker) => port.postMessage(msg);

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'abort') {
    controllers.get(msg.id)?.abort();
  } else if (msg.type === 'separate') {
    const controller = new AbortController();
    controllers.set(msg.id, controller);
    // One job at a time: onnxruntime already uses every core, and two songs would double the memory.
    queue = queue.then(async () => {
      const result = await runner.run(msg.req, {
        signal: controller.signal,
        onProgress: (progress) => post({ type: 'progress', id: msg.id, progress }),
      });
      controllers.delete(msg.id);
      post({ type: 'result', id: msg.id, result });
    });
  } else if (msg.type === 'dispose') {
    for (const c of controllers.values()) c.abort();
    queue = queue.then(async () => {
      await runner.dispose();
      post({ type: 'disposed' });
      port.close();
    });
  }
});
