// The network thread: owns one onnxruntime session. onnxruntime's run blocks the thread that calls it, so the
// network gets a thread of its own and the job thread keeps doing DSP and encoding for the neighbouring batches.
import { parentPort, workerData } from 'node:worker_threads';
import { asXumxError } from '../errors.ts';
import type { EpSkip, EpName, EpTiming } from '../types.ts';
import type { ModelManifest } from './manifest.ts';
import type { InstalledModel } from './registry.ts';
import { openModel, type ModelRunner, type OpenOptions } from './session.ts';

export interface NetworkWorkerData {
  model: InstalledModel;
  opts: OpenOptions;
}

export type ToNetwork =
  { type: 'run'; id: number; input: Float32Array; batch: number; frames: number } | { type: 'dispose' };

export type WireError = { code: string; message: string; file?: string };

export type FromNetwork =
  | { type: 'opened'; manifest: ModelManifest; ep: EpName; epSkipped: EpSkip[]; epTimings: EpTiming[] }
  | { type: 'open-failed'; error: WireError }
  | { type: 'result'; id: number; output: Float32Array; seconds: number }
  | { type: 'run-failed'; id: number; error: WireError }
  | { type: 'disposed' };

const port = parentPort;
if (!port) throw new Error('network-worker.ts runs only as a worker thread');
const post = (msg: FromNetwork, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const wire = (err: unknown): WireError => asXumxError(err).toJSON();

const { model, opts } = workerData as NetworkWorkerData;
let runner: ModelRunner | null = null;

try {
  runner = await openModel(model, opts);
  post({
    type: 'opened',
    manifest: runner.manifest,
    ep: runner.ep,
    epSkipped: runner.epSkipped,
    epTimings: runner.epTimings,
  });
} catch (err) {
  post({ type: 'open-failed', error: wire(err) });
}

port.on('message', async (msg: ToNetwork) => {
  if (msg.type === 'dispose') {
    await runner?.dispose().catch(() => {});
    runner = null;
    post({ type: 'disposed' });
    port.close();
    return;
  }
  if (!runner) {
    post({ type: 'run-failed', id: msg.id, error: { code: 'INTERNAL', message: 'the network was not opened' } });
    return;
  }
  try {
    const t0 = performance.now();
    const output = await runner.run(msg.input, msg.batch, msg.frames);
    const seconds = (performance.now() - t0) / 1000;
    post({ type: 'result', id: msg.id, output, seconds }, [output.buffer as ArrayBuffer]);
  } catch (err) {
    post({ type: 'run-failed', id: msg.id, error: wire(err) });
  }
});
