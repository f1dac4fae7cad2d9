// Key from pitch-class content: a chroma vector (energy per pitch class over the song) correlated with the 24
// rotations of a major and a minor key profile; the best correlation names the tonic and the mode. The profiles are
// Krumhansl and Kessler's probe-tone ratings (Krumhansl, "Cognitive Foundations of Musical Pitch", 1990).
import { stft } from '../dsp/stft.ts';
import type { MonoSignal } from './decimate.ts';
import { PITCH_CLASSES, type PitchClassName } from '../types.ts';

export { PITCH_CLASSES };
export type PitchClass = PitchClassName;
export type KeyMode = 'major' | 'minor';

const MAJOR_PROFILE = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
const MINOR_PROFILE = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

/** 4096-sample frames (0.37 s at 11 kHz): 2.7 Hz apart, finer than a semitone down to the bass's second octave. */
export const CHROMA_N_FFT = 4096;
export const CHROMA_HOP = 2048;
/** Pitches counted: C2 (65 Hz) to C7 (2093 Hz), where notes, not drums' noise, hold the energy. */
const LOWEST_MIDI = 36;
const HIGHEST_MIDI = 96;
/** Bins further than this from a pitch's centre (in semitones) belong to no pitch class. */
const PITCH_TOLERANCE = 0.35;

export interface KeyEstimate {
  tonic: PitchClass;
  mode: KeyMode;
  /** Correlation of the song's chroma with the key's profile, in [0, 1]. */
  confidence: number;
}

/** Chroma per frame: [frames][12], each frame's energy summed per pitch class (compressed with a square root). */
export function chromagram(signal: MonoSignal, nFft = CHROMA_N_FFT, hop = CHROMA_HOP): Float64Array[] {
  const { re, im, bins, frames } = stft(signal.samples, { nFft, hop });
  const classOf = new Int8Array(bins).fill(-1);
  for (let k = 1; k < bins; k++) {
    const midi = 69 + 12 * Math.log2((k * signal.rate) / nFft / 440);
    const nearest = Math.round(midi);
    if (nearest >= LOWEST_MIDI && nearest <= HIGHEST_MIDI && Math.abs(midi - nearest) <= PITCH_TOLERANCE)
      classOf[k] = nearest % 12;
  }
  const out = Array.from({ length: frames }, () => new Float64Array(12));
  for (let k = 1; k < bins; k++) {
    const pc = classOf[k];
    if (pc < 0) continue;
    const row = k * frames;
    for (let t = 0; t < frames; t++) out[t][pc] += Math.sqrt(re[row + t] * re[row + t] + im[row + t] * im[row + t]);
  }
  for (const c of out) for (let i = 0; i < 12; i++) c[i] = Math.sqrt(c[i]);
  return out;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>, shift: number): number {
  let ma = 0,
    mb = 0;
  for (let i = 0; i < 12; i++) {
    ma += a[i] / 12;
    mb += b[i] / 12;
  }
  let num = 0,
    da = 0,
    db = 0;
  for (let i = 0; i < 12; i++) {
    const x = a[(i + shift) % 12] - ma;
    const y = b[i] - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

/** The key whose profile, moved to each tonic, correlates best with the summed chroma; null for a toneless song. */
export function estimateKey(chroma: ArrayLike<number>): KeyEstimate | null {
  let best: KeyEstimate | null = null;
  let bestR = -Infinity;
  for (let tonic = 0; tonic < 12; tonic++) {
    for (const [mode, profile] of [
      ['major', MAJOR_PROFILE],
      ['minor', MINOR_PROFILE],
    ] as const) {
      const r = pearson(chroma, profile, tonic);
      if (r > bestR) {
        bestR = r;
        best = { tonic: PITCH_CLASSES[tonic], mode, confidence: Math.max(0, Math.min(1, r)) };
      }
    }
  }
  return bestR > 0 ? best : null;
}

/** The chroma frames summed over the song. */
export function songChroma(frames: Float64Array[]): Float64Array {
  const sum = new Float64Array(12);
  for (const c of frames) for (let i = 0; i < 12; i++) sum[i] += c[i];
  return sum;
}
