// A part of a song rendered on its own: what a control change lets the listener hear at the playhead at once, while
// the whole song is re-rendered behind it. Its chunks' estimates come from the estimate cache, or from the network
// when the cache does not hold the song (part-network.ts). The samples are the ones a full re-render writes there,
// because the part is made the same way, only from a later start:
// - from the chunk whose own samples begin the part (Crossfader's `first`), so every overlap inside it is joined
//   from both of its chunks, exactly as the full render joins them;
// - back at the song's own rate by the same streaming resampler, started at a sample where its filter phases line
//   up with the full stream's (a whole number of the rate ratio's periods) and early enough before the part that
//   the resampler's start, which has no earlier input, is cut off with the margin.
import type { EstimateFileReader } from '../cache/estimate-file.ts';
import { createResampler } from '../dsp/resample.ts';
import { gcd, polyphaseRatio } from '../dsp/polyphase.ts';
import { loadDspKernels } from '../dsp/kernels/index.ts';
import { XumxError } from '../errors.ts';
import { CONTRACT } from '../model/manifest.ts';
import type { Region, SeparationControls } from '../types.ts';
import type { CachedChunk, ChunkTask } from './chunk-render.ts';
import { ChunkRenderer, type DspRenderer } from './chunk-renderer.ts';
import { readChunk } from './chunk-loop.ts';
import type { PartNetwork } from './part-network.ts';
import type { PreparedSong } from './pipeline.ts';
import { Crossfader, exactEnd, exactStart, minChunkLength, planChunks, type ChunkPlan } from './segments.ts';

export interface RegionJob {
  /** The song's file, named in errors. */
  input: string;
  song: PreparedSong;
  /** Where the chunks' estimates come from. */
  source: PartSource;
  sources: readonly string[];
  controls: SeparationControls;
  /** In samples at the song's own rate. */
  region: Region;
  /** DSP threads; absent: the chunks render in this thread. */
  dsp?: DspRenderer;
  signal?: AbortSignal;
  /**
   * Chunks rendered for an earlier part of this song with these controls, and where this part's go: a player asks for
   * 2-second blocks one after another, each inside the ~6-second chunks of the one before.
   */
  kept?: KeptChunks;
}

/**
 * The song's cached estimates (the chunk plan comes from the entry's header), or the network run on the part's
 * chunks (planned as the song's separation plans them).
 */
export type PartSource = { kind: 'cache'; reader: EstimateFileReader } | { kind: 'network'; network: PartNetwork };

/** Chunks a KeptChunks holds: a block crossing a chunk's end needs two, a resampled one a third before them. */
export const KEPT_CHUNKS = 3;

/**
 * The stems of the last few chunks rendered for one song with one set of controls (at most KEPT_CHUNKS of them:
 * with the CPU's 256-frame chunks 261 120 samples × 2 channels × 4 bytes, 8.4 MB per stem set of four, 10.4 MB with
 * the residual, so at most about 31 MB). The numbers are the ones a render gives, so a part joined from them is
 * the part rendered afresh.
 */
export class KeptChunks {
  private readonly chunks = new Map<number, Float32Array[][]>();

  constructor(private readonly limit = KEPT_CHUNKS) {}

  has(index: number): boolean {
    return this.chunks.has(index);
  }

  /** A copy of chunk `index`'s stems, [stem][channel] (the crossfader fades what it is given in place). */
  copy(index: number): Float32Array[][] | undefined {
    return this.chunks.get(index)?.map((stem) => stem.map((ch) => ch.slice()));
  }

  /** Keeps `stems` as they are (the caller hands on copies); the chunk kept longest goes past the limit. */
  keep(index: number, stems: Float32Array[][]): void {
    this.chunks.delete(index);
    this.chunks.set(index, stems);
    while (this.chunks.size > this.limit) this.chunks.delete(this.chunks.keys().next().value!);
  }
}

export interface RenderedRegion {
  start: number;
  frames: number;
  /** Stem name → planar stereo at the song's own rate. */
  stems: Record<string, Float32Array[]>;
}

/**
 * Input samples at the network's rate kept before the part for the resampler to settle: a few times its longest
 * filter (the polyphase filter's ~100–600 taps; libsamplerate's medium sinc is longer).
 */
const RESAMPLER_MARGIN = { polyphase: 4096, other: 16384 };

/** The longest part: its chunks are rendered at once and held together (a player asks for seconds). */
export const MAX_REGION_SECONDS = 60;

export async function renderRegion(job: RegionJob): Promise<RenderedRegion> {
  const { song: prepared, source, controls, sources, signal, input } = job;
  const cancelled = () => {
    if (signal?.aborted) throw new XumxError('CANCELLED', `${input}: cancelled`, input);
  };
  const { sampleRate, inputLength, song } = prepared;
  if (job.region.frames > MAX_REGION_SECONDS * sampleRate) {
    throw new XumxError('BAD_ARGUMENT', `${input}: a part of a song is at most ${MAX_REGION_SECONDS} seconds`, input);
  }
  const start = Math.min(job.region.start, inputLength);
  const end = Math.min(inputLength, start + job.region.frames);
  const stems = controls.residual ? [...sources, 'residual'] : [...sources];
  if (end <= start)
    return {
      start,
      frames: 0,
      stems: Object.fromEntries(stems.map((s) => [s, [new Float32Array(0), new Float32Array(0)]])),
    };

  const rate = CONTRACT.sampleRate;
  const total = song.frames;
  const plan = source.kind === 'network' ? source.network.plan(total) : cachedPlan(input, total, source.reader);

  // The part at the network's rate: [from, to), `from` on a sample the resampled stream's phases line up with.
  const { L, M, margin } = ratio(rate, sampleRate);
  const from = Math.max(0, Math.floor((Math.floor((start * M) / L) - margin) / M) * M);
  const to = Math.min(total, Math.ceil((end * M) / L) + margin);

  const first = lastChunkStartingBy(plan, from);
  let last = first;
  while (exactEnd(plan, last) < to && last < plan.chunks.length - 1) last++;
  const joined = await joinChunks({ ...job, stems, plan, first, last, cancelled });
  const origin = exactStart(plan, first);
  const part = joined.map((channels) => channels.map((ch) => ch.subarray(from - origin, to - origin)));

  const out: Record<string, Float32Array[]> = {};
  for (let s = 0; s < stems.length; s++) {
    cancelled();
    let channels = part[s];
    let at = from; // the first sample of `channels`, at the song's own rate
    if (sampleRate !== rate) {
      const resampler = await createResampler(rate, sampleRate, 2);
      try {
        channels = concat(resampler.process(channels), resampler.flush());
      } finally {
        resampler.destroy();
      }
      at = (from / M) * L;
    }
    // A stream a sample or two short at the song's end is padded with silence, as the stem writers' streams are.
    out[stems[s]] = channels.map((ch) => {
      const x = new Float32Array(end - start);
      x.set(ch.subarray(Math.min(ch.length, start - at), Math.min(ch.length, end - at)));
      return x;
    });
  }
  return { start, frames: end - start, stems: out };
}

/** The chunk plan the cache entry was recorded with, checked against the song. */
function cachedPlan(input: string, total: number, reader: EstimateFileReader): ChunkPlan {
  const plan = planChunks(total, reader.header, CONTRACT.hop, minChunkLength(CONTRACT.nFft));
  if (plan.chunks.length !== reader.header.chunks || plan.frames !== reader.header.frames) {
    throw new XumxError(
      'CACHE_CORRUPT',
      `${input}: the cached chunks do not fit this song (${reader.header.chunks} cached, ${plan.chunks.length} planned)`,
      input,
    );
  }
  return plan;
}

/** The chunk to begin with so that `sample` is joined exactly: the last one whose own samples start by it. */
function lastChunkStartingBy(plan: ChunkPlan, sample: number): number {
  let i = 0;
  while (i + 1 < plan.chunks.length && exactStart(plan, i + 1) <= sample) i++;
  return i;
}

/** The reduced rate ratio L/M (song rate / network rate) and the resampler's margin for it. */
function ratio(rate: number, sampleRate: number): { L: number; M: number; margin: number } {
  if (sampleRate === rate) return { L: 1, M: 1, margin: 0 };
  const poly = polyphaseRatio(rate, sampleRate);
  if (poly) return { ...poly, margin: RESAMPLER_MARGIN.polyphase };
  const g = gcd(rate, sampleRate);
  return { L: sampleRate / g, M: rate / g, margin: RESAMPLER_MARGIN.other };
}

/**
 * Chunks first..last rendered (on the DSP threads when there are some, all at once) and joined per stem: the
 * stream from exactStart(first) to exactEnd(last), [stem][channel].
 */
async function joinChunks(
  job: RegionJob & { stems: string[]; plan: ChunkPlan; first: number; last: number; cancelled(): void },
): Promise<Float32Array[][]> {
  const { plan, first, last, stems, source, song, dsp, cancelled, kept, signal } = job;
  const indices = Array.from({ length: last - first + 1 }, (_, k) => first + k);
  // Taken now: this part's own chunks, kept as they are rendered, may push earlier ones out before they are joined.
  const held = new Map(indices.filter((i) => kept?.has(i)).map((i) => [i, kept!.copy(i)!] as const));
  const fresh = indices.filter((i) => !held.has(i));
  const kernels = await loadDspKernels();
  // The song's samples of every chunk not kept, read at once: each read waits for this thread's other work.
  const samples = new Map(
    await Promise.all(
      fresh.map(async (i) => [i, await readChunk(song.song, plan.chunks[i], plan.chunkLength)] as const),
    ),
  );
  const estimates =
    source.kind === 'network'
      ? await source.network.estimates(plan, fresh, async (i) => samples.get(i)!, kernels, cancelled)
      : new Map<number, Uint8Array>();
  const base = { sources: [...job.sources], controls: job.controls, chunkLength: plan.chunkLength };
  const task = (i: number, samples: Float32Array[]): ChunkTask =>
    source.kind === 'network'
      ? { kind: 'float24', float24: estimates.get(i)!, samples, ...base }
      : ({ kind: 'cached', record: source.reader.recordAt(i), samples, ...base } satisfies CachedChunk);
  const here = dsp ? null : new ChunkRenderer(kernels);
  // On the DSP threads a listener waits for these: they go before the chunks a whole-song render has waiting.
  const rendering = new Map<number, Promise<Float32Array[][]>>();
  if (dsp)
    for (const [i, x] of samples) {
      const chunk = dsp.render(task(i, x), undefined, { urgent: true, ...(signal ? { signal } : {}) });
      chunk.catch(() => {}); // awaited below; a cancel meanwhile must not leave an unhandled rejection
      rendering.set(i, chunk);
    }
  const length = exactEnd(plan, last) - exactStart(plan, first);
  const joined = stems.map(() => [new Float32Array(length), new Float32Array(length)]);
  const faders = stems.map(() => new Crossfader(plan, 2, first));
  let written = 0;
  for (const i of indices) {
    // In this thread nothing else runs between chunks: let a cancel (and the job beside this part) through.
    if (!dsp) await new Promise((resolve) => setImmediate(resolve));
    cancelled();
    let signals = held.get(i);
    if (!signals) {
      let fresh: Float32Array[][];
      try {
        fresh = here ? here.renderNow(task(i, samples.get(i)!)) : await rendering.get(i)!;
      } catch (err) {
        cancelled(); // a chunk given up says so with the song's name
        throw err;
      }
      if (kept) {
        kept.keep(i, fresh);
        signals = kept.copy(i)!;
      } else signals = fresh;
    }
    let n = 0;
    for (let s = 0; s < stems.length; s++) {
      const done = faders[s].add(i, signals[s]);
      done.forEach((ch, c) => joined[s][c].set(ch, written));
      n = done[0].length;
    }
    written += n;
  }
  return joined;
}

function concat(a: Float32Array[], b: Float32Array[]): Float32Array[] {
  return a.map((x, c) => {
    const y = new Float32Array(x.length + b[c].length);
    y.set(x);
    y.set(b[c], x.length);
    return y;
  });
}
