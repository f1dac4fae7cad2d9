// The engine's worker thread: the heavy work (decoding, DSP, onnxruntime) runs here so the caller's thread — a UI,
// an Electron main process, an HTTP server — stays responsive. Messages in: warm-up / separate / region / abort /
// release-song (lets go of a prepared song kept for re-renders) / dispose; messages out: warm / progress / listen
// (frames of the listening copy that are final) / result / region-result / released / disposed.
import { parentPort, workerData } from 'node:worker_threads';
import { JobRunner, type RunnerOptions } from './runner.ts';
import type { ListenProgress, Progress, Region, RegionResult, SeparateRequest, SeparationResult } from './types.ts';

export type ToWorker =
  /** model: whose session to open too (Engine.warmUp). */
  | { type: 'warm-up'; id: number; model?: Pick<SeparateRequest, 'modelId' | 'ep'> }
  /** listenCopy: where the job's listening copy goes (SeparateHooks.listen). */
  | { type: 'separate'; id: number; req: SeparateRequest; listenCopy?: string }
  | { type: 'region'; id: number; req: SeparateRequest; region: Region }
  | { type: 'abort'; id: number }
  /** Lets go of the prepared song kept for `input` once the jobs sent before this are done. */
  | { type: 'release-song'; id: number; input: string }
  | { type: 'dispose' };

export type FromWorker =
  | { type: 'warm'; id: number }
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'listen'; id: number; listen: ListenProgress }
  | { type: 'result'; id: number; result: SeparationResult }
  | { type: 'region-result'; id: number; result: RegionResult }
  | { type: 'released'; id: number }
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
  } else if (msg.type === 'warm-up') {
    // A warm-up that fails costs nothing: the first job readies the same things and reports what is wrong.
    const warm = () => post({ type: 'warm', id: msg.id });
    void runner.warmUp(msg.model).then(warm, warm);
  } else if (msg.type === 'separate') {
    const controller = new AbortController();
    controllers.set(msg.id, controller);
    // One job at a time: onnxruntime already uses every core, and two songs would double the memory.
    queue = queue.then(async () => {
      const result = await runner.run(msg.req, {
        signal: controller.signal,
        onProgress: (progress) => post({ type: 'progress', id: msg.id, progress }),
        ...(msg.listenCopy
          ? { listen: { path: msg.listenCopy, onReady: (listen) => post({ type: 'listen', id: msg.id, listen }) } }
          : {}),
      });
      controllers.delete(msg.id);
      post({ type: 'result', id: msg.id, result });
    });
  } else if (msg.type === 'region') {
    // Not queued: a part of a song is heard while the job before it (its whole re-render) is still running.
    const controller = new AbortController();
    controllers.set(msg.id, controller);
    void runner.renderRegion(msg.req, msg.region, { signal: controller.signal }).then((result) => {
      controllers.delete(msg.id);
      const transfer = result.ok
        ? Object.values(result.stems)
            .flat()
            .map((a) => a.buffer as ArrayBuffer)
        : [];
      port.postMessage({ type: 'region-result', id: msg.id, result } satisfies FromWorker, transfer);
    });
  } else if (msg.type === 'release-song') {
    // In turn: a re-render of the song sent before this may still take (and keep) its prepared samples.
    queue = queue.then(async () => {
      await runner.releaseSong(msg.input);
      post({ type: 'released', id: msg.id });
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
