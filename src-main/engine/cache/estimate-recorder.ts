// The network as the pipeline sees it (ModelRunner), recording its estimates into the estimate cache on the way: it
// runs the real network, rounds the output to the cache's float24 in place (so this run and every later re-render
// from the cache filter exactly the same numbers) and appends each chunk to the cache file. The pipeline cannot tell
// it from the network itself. A re-render reads the records back through EstimateReplay (estimate-replay.ts).
import type { ModelManifest } from '../model/manifest.ts';
import type { ModelRunner } from '../model/session.ts';
import type { EpName, EpSkip, EpTiming } from '../types.ts';
import type { EstimateFileWriter } from './estimate-file.ts';
import { BYTES_PER_VALUE, quantizeFloat24 } from './float24.ts';
import { CONTRACT } from '../model/manifest.ts';
import type { ChunkPlan } from '../separate/segments.ts';

export class EstimateRecorder implements ModelRunner {
  private writer: EstimateFileWriter | null = null;
  private bytes: Uint8Array | null = null;
  /** A cache write that failed (disk full, ...) only costs the cache, never the separation. */
  private failed: unknown = null;
  /** Bytes of estimates the song has produced so far, written or not (the entry's size without its header). */
  private produced = 0;
  /** Bytes of estimates the whole song will produce, once told its chunk plan (expect()). */
  private expected = 0;
  /**
   * Set by abort(): the job was cancelled or failed. A batch the network answers after that (the pipeline stops
   * waiting for it, the network thread does not) is not recorded: it would open a cache file nobody closes.
   */
  private aborted = false;
  /** The append in flight, which abort() waits for: it may be opening the cache file abort() must then remove. */
  private appending: Promise<void> = Promise.resolve();

  /**
   * `maxBytes`: the most an entry may take; a song whose estimates grow past it stops being written (the cache
   * could hold nothing else, and a 2-hour song's 16 GB would fill many disks) and `overCap` says so.
   */
  constructor(
    private readonly inner: ModelRunner,
    private readonly openWriter: (frames: number) => Promise<EstimateFileWriter>,
    private readonly maxBytes = Infinity,
  ) {}

  /** What cacheError is when the song's estimates grew past the cap. */
  readonly capError = new Error("the song's estimates are larger than the cache's size cap");

  /** The song's estimates, in bytes, when they are larger than the cap (then nothing is cached); null otherwise. */
  get overCap(): number | null {
    const bytes = Math.max(this.produced, this.expected);
    return bytes > this.maxBytes ? bytes : null;
  }

  /**
   * The song's chunk plan, before its first network run: a song whose estimates will not fit under the cap writes
   * nothing at all (instead of writing up to the cap and removing it at the end).
   */
  expect(plan: Pick<ChunkPlan, 'chunks' | 'frames'>): void {
    const perChunk = this.manifest.sources.length * 2 * CONTRACT.bins * plan.frames * BYTES_PER_VALUE;
    this.expected = plan.chunks.length * perChunk;
    if (this.expected > this.maxBytes && !this.failed) this.failed = this.capError;
  }

  get manifest(): ModelManifest {
    return this.inner.manifest;
  }
  get ep(): EpName {
    return this.inner.ep;
  }
  get epSkipped(): EpSkip[] {
    return this.inner.epSkipped;
  }
  get epTimings(): EpTiming[] {
    return this.inner.epTimings;
  }
  get cacheError(): unknown {
    return this.failed;
  }
  busySeconds(): number | null {
    return this.inner.busySeconds();
  }

  async run(input: Float32Array, batch: number, frames: number): Promise<Float32Array> {
    const out = await this.inner.run(input, batch, frames);
    if (this.aborted) return out;
    const sources = this.manifest.sources.length;
    const slice = out.length / (sources * batch); // 2 × bins × frames
    const stored = slice * BYTES_PER_VALUE;
    if (this.bytes?.length !== sources * stored) this.bytes = new Uint8Array(sources * stored);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < sources; j++) {
        const offset = (j * batch + b) * slice;
        quantizeFloat24(out.subarray(offset, offset + slice), this.bytes.subarray(j * stored, (j + 1) * stored));
      }
      this.appending = this.append(frames, this.bytes);
      await this.appending;
    }
    return out;
  }

  private async append(frames: number, bytes: Uint8Array): Promise<void> {
    if (this.aborted) return;
    this.produced += bytes.length;
    if (this.produced > this.maxBytes && !this.failed) {
      this.failed = this.capError;
      await this.writer?.abort();
      this.writer = null;
    }
    if (this.failed) return;
    try {
      this.writer ??= await this.openWriter(frames);
      // Cancelled while the file opened: abort(), waiting for this append, removes it.
      if (this.aborted) return;
      await this.writer.append(bytes);
    } catch (err) {
      this.failed = err;
      await this.writer?.abort();
      this.writer = null;
    }
  }

  /** Puts the cache entry in place (after the whole song went through); returns its size, or null when nothing was cached. */
  async commit(): Promise<number | null> {
    const w = this.writer;
    this.writer = null;
    if (!w || this.failed) return null;
    try {
      return await w.commit();
    } catch (err) {
      this.failed = err;
      return null;
    }
  }

  /** Removes the partial entry and closes its file, also when a chunk is on its way to it; records nothing after. */
  async abort(): Promise<void> {
    this.aborted = true;
    await this.appending.catch(() => {}); // its failure is the job's, which is ending anyway
    await this.writer?.abort();
    this.writer = null;
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
