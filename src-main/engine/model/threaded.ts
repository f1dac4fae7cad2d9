// A ModelRunner whose session lives on its own thread (network-worker.ts). The job thread sends a batch and stays
// free for the DSP of the batches before and after it while the network computes; busySeconds() is the thread's
// own time in runs, overlapped or not.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../workers.ts';
import { XumxError, type ErrorCode } from '../errors.ts';
import type { EpName, EpSkip, EpTiming } from '../types.ts';
import type { ModelManifest } from './manifest.ts';
import type { FromNetwork, NetworkWorkerData, ToNetwork, WireError } from './network-worker.ts';
import type { InstalledModel } from './registry.ts';
import type { ModelRunner, OpenOptions } from './session.ts';

const fromWire = (e: WireError) => new XumxError(e.code as ErrorCode, e.message, e.file);

export function openModelInThread(
  model: InstalledModel,
  opts: OpenOptions = {},
  /** Starts the thread; tests pass a stand-in that speaks the same messages. */
  start: (data: NetworkWorkerData) => Worker = (data) =>
    startWorker(import.meta.url, 'network-worker', { workerData: data }),
): Promise<ModelRunner> {
  const worker = start({ model, opts });
  worker.unref();

  const pending = new Map<number, { resolve(out: Float32Array): void; reject(err: XumxError): void }>();
  let nextId = 1;
  let busySeconds = 0;
  let dead: XumxError | null = null;
  /** From dispose() until the thread exits, the process waits for it, whatever runs still end meanwhile. */
  let disposing = false;

  return new Promise<ModelRunner>((resolveOpen, rejectOpen) => {
    const die = (err: XumxError) => {
      dead = err;
      rejectOpen(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    worker.on('error', (err) => die(new XumxError('INTERNAL', `the network thread stopped: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!dead) die(new XumxError('INTERNAL', `the network thread exited (code ${code})`));
    });
    worker.on('message', (msg: FromNetwork) => {
      switch (msg.type) {
        case 'open-failed':
          dead = fromWire(msg.error);
          void worker.terminate();
          rejectOpen(dead);
          break;
        case 'opened':
          resolveOpen(runner(msg.manifest, msg.ep, msg.epSkipped, msg.epTimings));
          break;
        case 'result':
          busySeconds += msg.seconds;
          pending.get(msg.id)?.resolve(msg.output);
          pending.delete(msg.id);
          break;
        case 'run-failed':
          pending.get(msg.id)?.reject(fromWire(msg.error));
          pending.delete(msg.id);
          break;
        case 'disposed':
          dead = new XumxError('INTERNAL', 'the model was disposed');
          void worker.terminate();
          break;
      }
    });

    const runner = (manifest: ModelManifest, ep: EpName, epSkipped: EpSkip[], epTimings: EpTiming[]): ModelRunner => ({
      manifest,
      ep,
      epSkipped,
      epTimings,
      busySeconds: () => busySeconds,
      run(input, batch, frames) {
        if (dead) return Promise.reject(dead);
        const id = nextId++;
        return new Promise<Float32Array>((resolve, reject) => {
          pending.set(id, { resolve, reject });
          worker.ref(); // a run in flight keeps the process alive
          // Copied, not transferred: the caller keeps using the mixture magnitudes (controls, caches). ~17 MB/batch.
          worker.postMessage({ type: 'run', id, input, batch, frames } satisfies ToNetwork);
        }).finally(() => {
          // A run answered while the thread is being disposed (a cancelled job's batch) must not let the process
          // go before the thread has ended: dispose() would never settle.
          if (pending.size === 0 && !disposing) worker.unref();
        });
      },
      async dispose() {
        if (dead) return;
        disposing = true;
        worker.ref();
        await new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          worker.postMessage({ type: 'dispose' } satisfies ToNetwork);
        });
      },
    });
  });
}
