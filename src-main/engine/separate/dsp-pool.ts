// Worker threads that render chunks in parallel: beside the network thread during a separation, and for re-renders
// from the estimate cache, where with no network to overlap the chunk DSP (controls, Wiener, ISTFT) is all the work
// and splits across cores by chunk.
// The pipeline still crossfades and writes in order; only the per-chunk math moves.
// Chunks wait here, in two lanes (lanes.ts), until a thread has room: a thread holds at most NORMAL_DEPTH chunks
// (one rendering, one waiting, so it never idles for a round trip), and an urgent chunk (a block a listener waits
// for) may be one more, which the thread renders before its waiting normal one. An urgent chunk thus waits for at
// most the chunk being rendered, not for the song's queued ones; a cancelled chunk that has not started is dropped.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../workers.ts';
import { XumxError } from '../errors.ts';
import type { ChunkTask, ChunkTimes } from './chunk-render.ts';
import type { DspRenderer, RenderLane } from './chunk-renderer.ts';
import { LaneQueue } from './lanes.ts';
import { UNDELIVERED, type FromDspWorker, type ToDspWorker } from './dsp-messages.ts';

/** Chunks one thread holds at most (rendering and waiting there) for normal chunks; urgent ones may add one. */
const NORMAL_DEPTH = 2;

interface Pending {
  resolve(stems: Float32Array[][]): void;
  reject(err: XumxError): void;
  times?: ChunkTimes;
  /** Stops listening to the chunk's signal. */
  detach(): void;
}

interface Waiting {
  id: number;
  task: ChunkTask;
  urgent: boolean;
}

export class DspPool implements DspRenderer {
  private readonly workers: Worker[] = [];
  /** Chunks per thread sent and not answered yet (a cancelled one counts until the thread answers it). */
  private readonly held: number[] = [];
  /** Thread of each chunk sent and not answered yet. */
  private readonly sentTo = new Map<number, number>();
  private readonly pending = new Map<number, Pending>();
  private readonly waiting = new LaneQueue<Waiting>();
  private nextId = 1;
  private rendered = 0;
  private broken: XumxError | null = null;

  /** `size` threads (separate/threading.ts decides how many). */
  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = startWorker(import.meta.url, 'dsp-worker');
      w.unref();
      w.on('message', (msg: FromDspWorker) => this.settle(i, msg));
      w.on('error', (err) => this.fail(new XumxError('INTERNAL', `a DSP thread stopped: ${err.message}`)));
      // A message that cannot be deserialised is dropped without a trace: fail rather than wait for it forever.
      w.on('messageerror', (err) =>
        this.fail(new XumxError('INTERNAL', `a DSP thread's result could not be received: ${err.message}`)),
      );
      w.on('exit', (code) => {
        if (!this.broken) this.fail(new XumxError('INTERNAL', `a DSP thread exited (code ${code})`));
      });
      this.workers.push(w);
      this.held.push(0);
    }
  }

  /**
   * Renders one chunk on a thread; the task's arrays are transferred (unusable here afterwards). `lane.urgent`: before
   * the normal chunks waiting; `lane.signal`: once it fires the render rejects as CANCELLED, and the chunk is dropped
   * if it has not started.
   */
  render(task: ChunkTask, times?: ChunkTimes, lane: RenderLane = {}): Promise<Float32Array[][]> {
    if (this.broken) return Promise.reject(this.broken);
    const { signal } = lane;
    const cancelled = () => new XumxError('CANCELLED', 'the chunk was no longer wanted');
    if (signal?.aborted) return Promise.reject(cancelled());
    const id = this.nextId++;
    const urgent = lane.urgent === true;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        if (!this.waiting.remove((w) => w.id === id)) {
          const at = this.sentTo.get(id);
          if (at !== undefined) this.workers[at].postMessage({ type: 'cancel', id } satisfies ToDspWorker);
        }
        reject(cancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve,
        reject,
        times,
        detach: () => signal?.removeEventListener('abort', onAbort),
      });
      this.waiting.push({ id, task, urgent }, urgent);
      this.pump();
    });
  }

  /** Chunks the threads have rendered (also those no longer wanted when they were done): what work was done. */
  get renderedChunks(): number {
    return this.rendered;
  }

  async dispose(): Promise<void> {
    this.broken ??= new XumxError('INTERNAL', 'the DSP threads were stopped');
    this.rejectAll(this.broken);
    await Promise.all(this.workers.splice(0).map((w) => w.terminate()));
  }

  /** Sends waiting chunks, in lane order, to the least busy thread that has room for each. */
  private pump(): void {
    for (;;) {
      const next = this.waiting.peek();
      if (!next) return;
      const room = NORMAL_DEPTH + (next.urgent ? 1 : 0);
      let at = -1;
      for (let i = 0; i < this.held.length; i++)
        if (this.held[i] < room && (at < 0 || this.held[i] < this.held[at])) at = i;
      if (at < 0) return;
      const { id, task, urgent } = this.waiting.shift()!;
      this.held[at]++;
      this.sentTo.set(id, at);
      const transfer = [
        ...(task.kind === 'estimates' ? task.estimates.map((e) => e.buffer) : []),
        ...(task.mix ?? []).flatMap((s) => [s.re.buffer, s.im.buffer]),
        ...(task.kind === 'float24' ? [task.float24.buffer] : []),
        ...(task.samples ?? []).map((x) => x.buffer),
      ];
      this.workers[at].postMessage({ type: 'render', id, task, urgent } satisfies ToDspWorker, [
        ...new Set(transfer),
      ] as ArrayBuffer[]);
    }
  }

  private settle(thread: number, msg: FromDspWorker): void {
    if (msg.id === UNDELIVERED)
      return this.fail(
        new XumxError('INTERNAL', `a chunk could not be delivered to a DSP thread: ${msg.ok ? '' : msg.message}`),
      );
    if (this.sentTo.delete(msg.id)) this.held[thread]--;
    if (msg.ok) this.rendered++;
    const p = this.pending.get(msg.id);
    if (p) {
      this.pending.delete(msg.id);
      p.detach();
      // A cached record found corrupt keeps its code: the caller recomputes the estimates (cached-separation.ts).
      if (!msg.ok)
        p.reject(
          msg.code === 'CACHE_CORRUPT' || msg.code === 'CANCELLED'
            ? new XumxError(msg.code, msg.message)
            : new XumxError('INTERNAL', `chunk rendering failed: ${msg.message}`),
        );
      else {
        if (p.times) {
          p.times.stft += msg.stft;
          p.times.wiener += msg.wiener;
          p.times.istft += msg.istft;
        }
        p.resolve(msg.stems);
      }
    }
    this.pump();
  }

  private fail(err: XumxError): void {
    this.broken = err;
    this.rejectAll(err);
  }

  private rejectAll(err: XumxError): void {
    this.waiting.drain();
    for (const p of this.pending.values()) {
      p.detach();
      p.reject(err);
    }
    this.pending.clear();
  }
}
