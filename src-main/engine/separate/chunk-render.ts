// One chunk from network estimates to stem audio: controls → Wiener filter → leftover to "other" → ISTFT.
// Pure and self-contained (plain arrays in, plain arrays out) so the same code runs in the pipeline's thread or in
// a DSP worker (dsp-pool.ts) — a re-render from the cache has no network to wait for and can use every core.
// renderChunk runs on the WebAssembly kernels it is given (the thread's, ../dsp/kernels); renderChunkReference
// is the same steps on the JavaScript reference implementations, which the tests hold it to.
import type { CachedRecord } from '../cache/estimate-file.ts';
import { decodeFloat24 } from '../cache/float24.ts';
import { addLeftover, applyControls, isIdentity } from '../dsp/controls.ts';
import type { DspKernels } from '../dsp/kernels/index.ts';
import { DEFAULT_HOP, DEFAULT_N_FFT, istft, stft, type Spectrogram } from '../dsp/stft.ts';
import { wiener, type StereoSpectrogram } from '../dsp/wiener.ts';
import type { SeparationControls } from '../types.ts';

/** What every chunk carries, whatever form its estimates come in. */
interface ChunkBase {
  sources: string[];
  controls: SeparationControls;
  /** Samples per chunk (the ISTFT's output length). */
  chunkLength: number;
  /** The chunk's own samples [left, right], zero-padded to chunkLength; lets the partition's last stem be a subtraction. */
  samples?: Float32Array[];
  /**
   * The chunk's stereo mixture STFT; absent: computed here from `samples` (a re-render's DSP thread does it, so the
   * job's thread neither computes nor sends ~14 MB of spectrogram per chunk).
   */
  mix?: [Spectrogram, Spectrogram];
}

/** The network's estimates: per source (model order) a magnitude [2][bins][frames], changed in place by the controls. */
export interface EstimatesChunk extends ChunkBase {
  kind: 'estimates';
  estimates: Float32Array[];
}

/**
 * The estimate cache's record of the chunk: the sources' estimates one after the other in float24 (3 bytes per
 * value), decoded where they are used: a quarter fewer bytes to move and no decoding on the job's thread.
 */
export interface Float24Chunk extends ChunkBase {
  kind: 'float24';
  float24: Uint8Array;
  /** The checksum `float24` must have (../cache/checksum.ts), checked in the kernels' memory; absent: not checked. */
  checksum?: number;
}

/**
 * Where the chunk's record is in the cache file. Read (and checked) by the thread that renders it
 * (chunk-renderer.ts), then rendered as a Float24Chunk; renderChunk itself does no file reading.
 */
export interface CachedChunk extends ChunkBase {
  kind: 'cached';
  record: CachedRecord;
  samples: Float32Array[];
}

/** A chunk renderChunk takes as it is. */
export type RenderableChunk = EstimatesChunk | Float24Chunk;

/** One chunk's work, as the pipeline hands it to a DspRenderer (and a DSP thread receives it). */
export type ChunkTask = RenderableChunk | CachedChunk;

/** Seconds spent in each stage, for the job's timings. */
export interface ChunkTimes {
  stft: number;
  wiener: number;
  istft: number;
}

/**
 * The previous chunk's filtered spectrograms: they never leave renderChunk, so the next chunk of the same shape
 * overwrites them instead of allocating ~16 MB (and faulting its pages in) again.
 */
let spare: StereoSpectrogram[] | undefined;

/** Stem audio per stem (sources, then "residual" when asked for): [left, right]. */
export function renderChunk(k: DspKernels, task: RenderableChunk, times?: ChunkTimes): Float32Array[][] {
  const { mix, sources, controls } = task;
  const N = sources.length;
  const J = N + (controls.residual ? 1 : 0);
  const { bins, frames } = mix?.[0] ?? chunkShape(task.chunkLength);
  const heap = k.chunkViews(N, J, bins, frames, task.chunkLength);
  if (mix) {
    mix.forEach((x, c) => {
      heap.mix[c].re.set(x.re);
      heap.mix[c].im.set(x.im);
    });
  } else {
    const ts = performance.now();
    mixSamples(task).forEach((x, c) => k.stftInto(x, heap.mix[c]));
    if (times) times.stft += (performance.now() - ts) / 1000;
  }
  const t0 = performance.now();
  if (task.kind === 'float24') k.decodeFloat24Into(task.float24, heap.estimates, task.checksum);
  else task.estimates.forEach((e, j) => heap.estimates[j].set(e));
  if (!isIdentity(controls)) {
    k.applyControls(
      heap.estimates,
      sources.map((s) => controls.strength?.[s] ?? 1),
      sources.map((s) => controls.bleed?.[s] ?? 0),
    );
  }
  // The stem that completes the partition comes by subtraction (toStems): with one EM iteration its filtered
  // spectrogram is never read, so the filter does not write it.
  const { partition, subtract } = partitionOf(task);
  const skip = subtract && controls.wienerIterations === 1 ? partition : -1;
  const filtered = k.wiener(
    heap.estimates,
    heap.mix,
    { iterations: controls.wienerIterations, softmask: controls.softmask, residual: controls.residual },
    heap.filtered,
    skip,
  );
  return toStems(filtered, heap.mix, task, (spec) => k.istft(spec, task.chunkLength), t0, times);
}

/** renderChunk on the JavaScript reference implementations (no kernels needed). */
export function renderChunkReference(task: RenderableChunk, times?: ChunkTimes): Float32Array[][] {
  const { sources, controls } = task;
  const ts = performance.now();
  const mix = task.mix ?? (mixSamples(task).map((x) => stft(x)) as [Spectrogram, Spectrogram]);
  if (!task.mix && times) times.stft += (performance.now() - ts) / 1000;
  const plane = 2 * mix[0].bins * mix[0].frames;
  const estimates =
    task.kind === 'float24'
      ? sources.map((_, j) =>
          decodeFloat24(task.float24.subarray(3 * j * plane, 3 * (j + 1) * plane), new Float32Array(plane)),
        )
      : task.estimates;
  const t0 = performance.now();
  if (!isIdentity(controls)) applyControls(estimates, sources, controls);
  const filtered = wiener(
    estimates,
    mix,
    { iterations: controls.wienerIterations, softmask: controls.softmask, residual: controls.residual },
    spare,
  );
  spare = filtered;
  return toStems(filtered, mix, task, (spec) => istft(spec, task.chunkLength), t0, times);
}

/** The spectrogram shape of a chunk of `chunkLength` samples (the STFT's defaults, as the pipeline uses them). */
function chunkShape(chunkLength: number): { bins: number; frames: number } {
  return { bins: DEFAULT_N_FFT / 2 + 1, frames: 1 + Math.floor(chunkLength / DEFAULT_HOP) };
}

function mixSamples(task: RenderableChunk): Float32Array[] {
  const { samples, chunkLength } = task;
  if (!samples || samples.length !== 2 || samples.some((x) => x.length !== chunkLength)) {
    throw new Error(`a chunk without its mixture STFT needs its ${chunkLength} samples in 2 channels`);
  }
  return samples;
}

/**
 * Filtered sources to stem audio. What the sources leave over is its own "residual" stem, or goes to "other" when
 * the model has one. Either way that stem completes a partition: the stems' spectrograms sum exactly to the
 * mixture's, so by the ISTFT's linearity it is the chunk's samples minus the other stems — two ISTFTs and a
 * spectrogram pass fewer per chunk. `t0`: when the chunk's work began, for the timings.
 */
function toStems(
  filtered: StereoSpectrogram[],
  mix: [Spectrogram, Spectrogram],
  task: RenderableChunk,
  inverse: (spec: Spectrogram) => Float32Array,
  t0: number,
  times?: ChunkTimes,
): Float32Array[][] {
  const { controls, samples } = task;
  const { partition, subtract } = partitionOf(task);
  if (!subtract && !controls.residual && partition >= 0) addLeftover(filtered, mix, partition);
  const t1 = performance.now();
  const out: Float32Array[][] = filtered.map((stem, j) => (subtract && j === partition ? [] : stem.map(inverse)));
  if (subtract && samples) out[partition] = remainder(samples, out, partition, task.chunkLength);
  if (times) {
    times.wiener += (t1 - t0) / 1000;
    times.istft += (performance.now() - t1) / 1000;
  }
  return out;
}

/**
 * The stem that completes the partition (the sources' leftover goes to it): "residual" when asked for, else "other"
 * (−1: the model has neither); `subtract` when it can be had as the chunk's samples minus the other stems.
 */
function partitionOf({ sources, controls, samples }: RenderableChunk): { partition: number; subtract: boolean } {
  const partition = controls.residual ? sources.length : sources.indexOf('other');
  return { partition, subtract: partition >= 0 && samples !== undefined };
}

/** The chunk's samples minus every stem but `skip`. */
function remainder(samples: Float32Array[], stems: Float32Array[][], skip: number, length: number): Float32Array[] {
  return samples.map((channel, c) => {
    const others = stems.filter((_, j) => j !== skip).map((stem) => stem[c]);
    const out = new Float32Array(length);
    out.set(channel.subarray(0, length));
    // three at a time (a partition of 4 or 5 stems subtracts 3 or 4): one pass over `out` instead of three
    let j = 0;
    for (; j + 3 <= others.length; j += 3) subtract3(out, others[j], others[j + 1], others[j + 2], length);
    for (; j < others.length; j++) subtract1(out, others[j], length);
    return out;
  });
}

function subtract1(out: Float32Array, a: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] -= a[i];
}

function subtract3(out: Float32Array, a: Float32Array, b: Float32Array, c: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = out[i] - a[i] - b[i] - c[i];
}
