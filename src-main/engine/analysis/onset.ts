// Onset strength: how much new energy each short frame brings, from the spectral flux of a log-compressed STFT.
// Beats sit on onsets, so this curve is what the tempo and beat stages read.
import { stft } from '../dsp/stft.ts';
import type { MonoSignal } from './decimate.ts';

/** Frames of 512 samples (46 ms at 11 kHz: short enough to place a drum hit), every 128 (11.6 ms). */
export const ONSET_N_FFT = 512;
export const ONSET_HOP = 128;
/** Up to here the flux counts as "low" (kick drum, bass): the bar stage weighs it for downbeats. */
const LOW_BAND_HZ = 200;
/** Compression of magnitudes before differencing, so quiet and loud parts both show their onsets. */
const LOG_GAIN = 100 / ONSET_N_FFT;
/** The local mean taken away from the flux, over ± this many seconds: a steady sustain is no onset. */
const LOCAL_MEAN_SECONDS = 0.25;

export interface OnsetEnvelope {
  /** Frames per second. */
  frameRate: number;
  /** Onset strength per frame, ≥ 0, unit standard deviation (frame t is centred at t / frameRate seconds). */
  strength: Float32Array;
  /** The same from the bins under 200 Hz only. */
  low: Float32Array;
}

export function onsetEnvelope(signal: MonoSignal): OnsetEnvelope {
  const spec = stft(signal.samples, { nFft: ONSET_N_FFT, hop: ONSET_HOP });
  const { bins, frames, re, im } = spec;
  const frameRate = signal.rate / ONSET_HOP;
  const lowBins = Math.max(2, Math.round((LOW_BAND_HZ * ONSET_N_FFT) / signal.rate));
  const flux = new Float32Array(frames);
  const low = new Float32Array(frames);
  // Bin-major spectrogram: walk each bin's row once, compressing as we go.
  for (let k = 1; k < bins; k++) {
    const row = k * frames;
    let prev = Math.log1p(LOG_GAIN * Math.sqrt(re[row] * re[row] + im[row] * im[row]));
    for (let t = 1; t < frames; t++) {
      const cur = Math.log1p(LOG_GAIN * Math.sqrt(re[row + t] * re[row + t] + im[row + t] * im[row + t]));
      const rise = cur - prev;
      if (rise > 0) {
        flux[t] += rise;
        if (k < lowBins) low[t] += rise;
      }
      prev = cur;
    }
  }
  const radius = Math.max(1, Math.round(LOCAL_MEAN_SECONDS * frameRate));
  return {
    frameRate,
    strength: standardize(aboveLocalMean(flux, radius)),
    low: standardize(aboveLocalMean(low, radius)),
  };
}

/** x minus its moving average over ±radius frames, negative parts dropped. */
export function aboveLocalMean(x: Float32Array, radius: number): Float32Array {
  const out = new Float32Array(x.length);
  const prefix = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) prefix[i + 1] = prefix[i] + x[i];
  for (let i = 0; i < x.length; i++) {
    const a = Math.max(0, i - radius);
    const b = Math.min(x.length, i + radius + 1);
    out[i] = Math.max(0, x[i] - (prefix[b] - prefix[a]) / (b - a));
  }
  return out;
}

/** Divides by the standard deviation (a silent signal stays all zeros). */
export function standardize(x: Float32Array): Float32Array {
  let mean = 0;
  for (const v of x) mean += v / x.length;
  let variance = 0;
  for (const v of x) variance += ((v - mean) * (v - mean)) / x.length;
  const sd = Math.sqrt(variance);
  if (sd > 0) for (let i = 0; i < x.length; i++) x[i] /= sd;
  return x;
}
