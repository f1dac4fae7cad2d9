// Mono at a low rate for the analysis: rhythm and key need nothing above a few kHz, and a quarter of the samples
// makes every later stage four times cheaper.

/** The analysis rate aimed at; the actual one is the input rate divided by a whole factor. */
export const ANALYSIS_RATE = 11025;

/** Half the taps of the decimation low-pass per unit of factor. */
const TAPS_PER_FACTOR = 8;

export interface MonoSignal {
  rate: number;
  /** Samples in [-1, 1]. */
  samples: Float32Array;
}

/** The whole factor that brings `rate` closest to ANALYSIS_RATE without going under it by more than a third. */
export function decimationFactor(rate: number): number {
  return Math.max(1, Math.round(rate / ANALYSIS_RATE));
}

/**
 * Averages channels (or takes the one given) and keeps every factor-th sample after a Hann-windowed sinc low-pass
 * at 90 % of the new Nyquist frequency, so what folds back is far below the notes and drums.
 */
export function toAnalysisRate(channels: Float32Array[], rate: number): MonoSignal {
  const factor = decimationFactor(rate);
  const length = channels[0]?.length ?? 0;
  const mono = new Float32Array(length);
  for (const ch of channels) for (let i = 0; i < length; i++) mono[i] += ch[i] / channels.length;
  if (factor === 1) return { rate, samples: mono };
  const half = TAPS_PER_FACTOR * factor;
  const cutoff = 0.9 / factor; // of the input's Nyquist frequency
  const taps = new Float32Array(2 * half + 1);
  let sum = 0;
  for (let k = -half; k <= half; k++) {
    const x = Math.PI * cutoff * k;
    const sinc = k === 0 ? 1 : Math.sin(x) / x;
    const w = 0.5 + 0.5 * Math.cos((Math.PI * k) / (half + 1));
    taps[k + half] = sinc * w;
    sum += sinc * w;
  }
  for (let k = 0; k < taps.length; k++) taps[k] /= sum;
  const out = new Float32Array(Math.ceil(length / factor));
  for (let j = 0; j < out.length; j++) {
    const centre = j * factor;
    let acc = 0;
    const from = Math.max(-half, -centre);
    const to = Math.min(half, length - 1 - centre);
    for (let k = from; k <= to; k++) acc += taps[k + half] * mono[centre + k];
    out[j] = acc;
  }
  return { rate: rate / factor, samples: out };
}
