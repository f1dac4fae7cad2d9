// Worker threads that render chunks in parallel: beside the network thread during a separation, and for re-renders
// from the estimate cache, where with no network to overlap the chunk DSP (controls, Wiener, ISTFT) is all the work
// and splits across cores by chunk.
// The pipeline still crossfades and writes in order; only the per-chunk math moves.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../workers.ts';
import { XumxError } from '../errors.ts';
import type { ChunkTask, ChunkTimes } from './chunk-render.ts';
import type { DspRenderer } from './chunk-renderer.ts';
import { UNDELIVERED, type FromDspWorker, type ToDspWorker } from './dsp-messages.ts';

interface Pending {
  resolve(stems: Float32Array[][]): void;
  reject(err: XumxError): void;
  times?: ChunkTimes;
}

export class DspPool implements DspRenderer {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private turn = 0;
  private broken: XumxError | null = null;

  /** `size` threads (separate/threading.ts decides how many). */
  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = startWorker(import.meta.url, 'dsp-worker');
      w.unref();
      w.on('message', (msg: FromDspWorker) => this.settle(msg));
      w.on('error', (err) => this.fail(new XumxError('INTERNAL', `a DSP thread stopped: ${err.message}`)));
      // A message that cannot be deserialised is dropped without a trace: fail rather than wait for it forever.
      w.on('messageerror', (err) =>
        this.fail(new XumxError('INTERNAL', `a DSP thread's result could not be received: ${err.message}`)),
      );
      w.on('exit', (code) => {
        if (!this.broken) this.fail(new XumxError('INTERNAL', `a DSP thread exited (code ${code})`));
      });
      this.workers.push(w);
    }
  }

  /** Renders one chunk on the next thread; the task's arrays are transferred (unusable here afterwards). */
  render(task: ChunkTask, times?: ChunkTimes): Promise<Float32Array[][]> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, times });
      const transfer = [
        ...(task.kind === 'estimates' ? task.estimates.map((e) => e.buffer) : []),
        ...(task.mix ?? []).flatMap((s) => [s.re.buffer, s.im.buffer]),
        ...(task.kind === 'float24' ? [task.float24.buffer] : []),
        ...(task.samples ?? []).map((x) => x.buffer),
      ];
      worker.postMessage({ id, task } satisfies ToDspWorker, [...new Set(transfer)] as ArrayBuffer[]);
    });
  }

  async dispose(): Promise<void> {
    this.broken ??= new XumxError('INTERNAL', 'the DSP threads were stopped');
    for (const p of this.pending.values()) p.reject(this.broken);
    this.pending.clear();
    await Promise.all(this.workers.splice(0).map((w) => w.terminate()));
  }

  private settle(msg: FromDspWorker): void {
    if (msg.id === UNDELIVERED)
      return this.fail(
        new XumxError('INTERNAL', `a chunk could not be delivered to a DSP thread: ${msg.ok ? '' : msg.message}`),
      );
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    // A cached record found corrupt keeps its code: the caller recomputes the estimates (cached-separation.ts).
    if (!msg.ok)
      return p.reject(
        msg.code === 'CACHE_CORRUPT'
          ? new XumxError(msg.code, msg.message)
          : new XumxError('INTERNAL', `chunk rendering failed: ${msg.message}`),
      );
    if (p.times) {
      p.times.stft += msg.stft;
      p.times.wiener += msg.wiener;
      p.times.istft += msg.istft;
    }
    p.resolve(msg.stems);
  }

  private fail(err: XumxError): void {
    this.broken = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
