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

/** The whole factor (at least 1) that brings `rate` nearest to ANALYSIS_RATE. */
export function decimationFactor(rate: number): number {
  return Math.max(1, Math.round(rate / ANALYSIS_RATE));
}

/**
 * Averages channels (or takes the one given) and keeps every factor-th sample after a Hann-windowed sinc low-pass
 * at 90 % of the new Nyquist frequency, so what folds back is far below the notes and drums.
 */
export function toAnalysisRate(channels: Float32Array[], rate: number): MonoSignal {
  const d = new Decimator(rate);
  d.push(channels);
  return d.finish();
}

/** toAnalysisRate for audio that arrives in pieces (a separation's stems, chunk by chunk); same output. */
export class Decimator {
  readonly factor: number;
  private readonly taps: Float32Array;
  private readonly half: number;
  /** Mono input not yet consumed, with `half` samples of history before the next output's centre. */
  private pending = new Float32Array(0);
  /** Input index of pending[0]. */
  private pendingStart = 0;
  private nextCentre = 0;
  private out = new Float32Array(1 << 16);
  private outLength = 0;

  constructor(private readonly rate: number) {
    this.factor = decimationFactor(rate);
    this.half = this.factor === 1 ? 0 : TAPS_PER_FACTOR * this.factor;
    this.taps = this.factor === 1 ? Float32Array.of(1) : lowPass(this.half, this.factor);
  }

  push(channels: Float32Array[]): void {
    const length = channels[0]?.length ?? 0;
    const joined = new Float32Array(this.pending.length + length);
    joined.set(this.pending);
    for (const ch of channels)
      for (let i = 0; i < length; i++) joined[this.pending.length + i] += ch[i] / channels.length;
    this.pending = joined;
    this.emit(false);
  }

  finish(): MonoSignal {
    this.emit(true);
    return { rate: this.rate / this.factor, samples: this.out.slice(0, this.outLength) };
  }

  /** Outputs every sample whose window is complete (at the end: every one left, zeros past the input). */
  private emit(atEnd: boolean): void {
    const { half, taps, factor } = this;
    const end = this.pendingStart + this.pending.length;
    while (atEnd ? this.nextCentre < end : this.nextCentre + half < end) {
      const base = this.nextCentre - half - this.pendingStart;
      const from = Math.max(0, -base);
      const to = Math.min(taps.length, this.pending.length - base);
      const pending = this.pending;
      let acc = 0;
      for (let k = from; k < to; k++) acc += taps[k] * pending[base + k];
      if (this.outLength === this.out.length) {
        const grown = new Float32Array(2 * this.out.length);
        grown.set(this.out);
        this.out = grown;
      }
      this.out[this.outLength++] = acc;
      this.nextCentre += factor;
    }
    const keepFrom = Math.max(0, this.nextCentre - half - this.pendingStart);
    this.pending = this.pending.slice(keepFrom);
    this.pendingStart += keepFrom;
  }
}

function lowPass(half: number, factor: number): Float32Array {
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
  return taps;
}
