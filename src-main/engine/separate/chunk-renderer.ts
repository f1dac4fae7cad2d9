// Where chunk tasks get rendered: a DspRenderer is either the DspPool (dsp-pool.ts: other threads) or a
// ChunkRenderer (this thread). Both take every kind of ChunkTask; a cached record is read by the thread that renders
// it, so a DSP thread and the job's thread do exactly the same steps.
import { readRecord, recordCorrupt } from '../cache/estimate-file.ts';
import type { DspKernels } from '../dsp/kernels/index.ts';
import { XumxError } from '../errors.ts';
import { renderChunk, type ChunkTask, type ChunkTimes, type RenderableChunk } from './chunk-render.ts';

/** How a chunk is waited for: `urgent`, a listener waits for it (before a whole song's chunks); `signal`: no longer wanted. */
export interface RenderLane {
  urgent?: boolean;
  signal?: AbortSignal;
}

/** Renders chunks: stem audio per stem, [left, right]. */
export interface DspRenderer {
  /**
   * The task's arrays may be transferred to another thread (unusable by the caller afterwards). `lane` orders it among
   * the chunks waiting for a thread, where there are any.
   */
  render(task: ChunkTask, times?: ChunkTimes, lane?: RenderLane): Promise<Float32Array[][]>;
  /** How many threads render at once; 0: this one, one chunk after another. */
  readonly size: number;
}

/** Renders chunk tasks in the thread that holds `kernels`. */
export class ChunkRenderer implements DspRenderer {
  readonly size = 0;
  /** The buffer cached records are read into, reused from chunk to chunk. */
  private record: Buffer | undefined;

  constructor(private readonly kernels: DspKernels) {}

  render(task: ChunkTask, times?: ChunkTimes): Promise<Float32Array[][]> {
    try {
      return Promise.resolve(this.renderNow(task, times));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  renderNow(task: ChunkTask, times?: ChunkTimes): Float32Array[][] {
    if (task.kind !== 'cached') return renderChunk(this.kernels, task, times);
    const { payload, checksum } = readRecord(task.record, this.record);
    this.record = Buffer.from(payload.buffer, 0, payload.buffer.byteLength); // the whole buffer, for the next chunk
    const { record, kind, ...rest } = task;
    const chunk: RenderableChunk = { ...rest, kind: 'float24', float24: payload, checksum };
    try {
      return renderChunk(this.kernels, chunk, times);
    } catch (err) {
      // the kernels' reason ("checksum mismatch", a wrong length), with the file and chunk they do not know
      throw err instanceof XumxError && err.code === 'CACHE_CORRUPT' ? recordCorrupt(record, err.message) : err;
    }
  }
}
