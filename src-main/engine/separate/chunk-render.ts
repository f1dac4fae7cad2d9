// One chunk from network estimates to stem audio: controls → Wiener filter → leftover to "other" → ISTFT.
// Pure and self-contained (plain arrays in, plain arrays out) so the same code runs in the pipeline's thread or in
// a DSP worker (dsp-pool.ts) — a re-render from the cache has no network to wait for and can use every core.
import { addLeftover, applyControls, isIdentity } from '../dsp/controls.ts';
import { istft, type Spectrogram } from '../dsp/stft.ts';
import { wiener } from '../dsp/wiener.ts';
import type { SeparationControls } from '../types.ts';

export interface ChunkTask {
  /** Per source (model order) its magnitude estimate [2][bins][frames]; changed in place by the controls. */
  estimates: Float32Array[];
  /** The chunk's stereo mixture STFT. */
  mix: [Spectrogram, Spectrogram];
  sources: string[];
  controls: SeparationControls;
  /** Samples per chunk (the ISTFT's output length). */
  chunkLength: number;
}

/** Seconds spent in each stage, for the job's timings. */
export interface ChunkTimes {
  wiener: number;
  istft: number;
}

/** Stem audio per stem (sources, then "residual" when asked for): [left, right]. */
export function renderChunk(task: ChunkTask, times?: ChunkTimes): Float32Array[][] {
  const { estimates, mix, sources, controls } = task;
  const t0 = performance.now();
  if (!isIdentity(controls)) applyControls(estimates, sources, controls);
  const filtered = wiener(estimates, mix, { iterations: controls.wienerIterations, softmask: controls.softmask, residual: controls.residual });
  // Residual handling: its own stem (the filter's residual source), or added to "other" when the model has one.
  const leftoverTo = controls.residual ? -1 : sources.indexOf('other');
  if (leftoverTo >= 0) addLeftover(filtered, mix, leftoverTo);
  const t1 = performance.now();
  const out = filtered.map((stem) => stem.map((spec) => istft(spec, task.chunkLength)));
  if (times) {
    times.wiener += (t1 - t0) / 1000;
    times.istft += (performance.now() - t1) / 1000;
  }
  return out;
}
