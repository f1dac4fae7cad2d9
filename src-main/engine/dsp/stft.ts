// Short-time Fourier transform with torch.stft / torch.istft semantics, as X-UMX was trained and evaluated with:
// periodic Hann window, center=true with reflect padding of nFft/2, onesided spectrum, no normalisation.
//
// Speed: each fft.js complex transform of size nFft carries two real frames at once (frame t in the real part,
// frame t+1 in the imaginary part) and the two spectra are split apart by Hermitian symmetry. Frames are
// processed in small blocks so that the bin-major spectrogram is read and written in contiguous runs.
import FFT from 'fft.js';
import { XumxError } from '../errors.ts';

/** Complex spectrogram, bin-major: index = bin * frames + frame (matches the model input [batch, 2, bins, frames]). */
export interface Spectrogram {
  re: Float32Array;
  im: Float32Array;
  bins: number;
  frames: number;
}

export interface StftOptions {
  /** FFT size in samples, a power of two (default 4096). */
  nFft?: number;
  /** Hop between frames in samples (default 1024). */
  hop?: number;
}

export const DEFAULT_N_FFT = 4096;
export const DEFAULT_HOP = 1024;

/** Frames handled per block: even (frames go in pairs) and small enough for the block to stay in cache. */
const BLOCK = 16;

interface Plan {
  nFft: number;
  bins: number;
  fft: FFT;
  /** Periodic Hann window (torch.hann_window default). */
  window: Float64Array;
  /** window / nFft: the synthesis window with the inverse FFT's scaling folded in. */
  synthesis: Float64Array;
  fftIn: number[];
  fftOut: number[];
  /** Row length of the block buffers: bins padded so that rows do not start 4 KiB apart (cache-set aliasing). */
  stride: number;
  /** [BLOCK][stride] real and imaginary parts of the frames of the current block. */
  blockRe: Float64Array;
  blockIm: Float64Array;
}

const plans = new Map<number, Plan>();

function planFor(nFft: number): Plan {
  let plan = plans.get(nFft);
  if (plan) return plan;
  const fft = new FFT(nFft);
  const window = new Float64Array(nFft);
  const synthesis = new Float64Array(nFft);
  for (let n = 0; n < nFft; n++) {
    window[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft);
    synthesis[n] = window[n] / nFft;
  }
  const bins = nFft / 2 + 1;
  const stride = bins + 15;
  plan = {
    nFft,
    bins,
    fft,
    window,
    synthesis,
    fftIn: fft.createComplexArray(),
    fftOut: fft.createComplexArray(),
    stride,
    blockRe: new Float64Array(BLOCK * stride),
    blockIm: new Float64Array(BLOCK * stride),
  };
  // A handful of sizes at most are ever used; keep the cache from growing without bound anyway.
  if (plans.size >= 4) plans.delete(plans.keys().next().value as number);
  plans.set(nFft, plan);
  return plan;
}

function resolve(opts: StftOptions | undefined): { nFft: number; hop: number } {
  const nFft = opts?.nFft ?? DEFAULT_N_FFT;
  const hop = opts?.hop ?? DEFAULT_HOP;
  if (!Number.isInteger(nFft) || nFft < 4 || (nFft & (nFft - 1)) !== 0) {
    throw new XumxError('BAD_ARGUMENT', `STFT size must be a power of two of at least 4, got ${nFft}`);
  }
  if (!Number.isInteger(hop) || hop < 1 || hop > nFft) {
    throw new XumxError('BAD_ARGUMENT', `STFT hop must be an integer between 1 and ${nFft}, got ${hop}`);
  }
  return { nFft, hop };
}

/** Number of STFT frames torch.stft(center=true) gives for a signal of `length` samples. */
export function frameCount(length: number, opts?: StftOptions): number {
  const { nFft, hop } = resolve(opts);
  return 1 + Math.floor(Math.max(length, nFft / 2 + 1) / hop);
}

/**
 * Pads by nFft/2 on both sides with reflection (x[-k] = x[k], as torch's reflect mode).
 * Reflection needs more than nFft/2 samples; shorter signals are first zero-padded at the end to nFft/2 + 1
 * samples, so they get frameCount() frames of that padded length and istft(spec, originalLength) trims back.
 */
export function reflectPad(signal: Float32Array, nFft: number): Float32Array {
  const half = nFft / 2;
  const len = Math.max(signal.length, half + 1);
  const padded = new Float32Array(len + nFft);
  padded.set(signal, half);
  for (let k = 1; k <= half; k++) {
    padded[half - k] = padded[half + k];
    padded[half + len - 1 + k] = padded[half + len - 1 - k];
  }
  return padded;
}

/** Onesided STFT of one channel: bins = nFft/2 + 1, frames = 1 + floor(max(len, nFft/2 + 1) / hop). */
export function stft(signal: Float32Array, opts?: StftOptions): Spectrogram {
  const { nFft, hop } = resolve(opts);
  const plan = planFor(nFft);
  const { bins, stride, fft, window, fftIn, fftOut, blockRe, blockIm } = plan;
  const padded = reflectPad(signal, nFft);
  const frames = 1 + Math.floor((padded.length - nFft) / hop);
  const re = new Float32Array(bins * frames);
  const im = new Float32Array(bins * frames);

  for (let t0 = 0; t0 < frames; t0 += BLOCK) {
    const count = Math.min(BLOCK, frames - t0);
    for (let b = 0; b < count; b += 2) {
      const startA = (t0 + b) * hop;
      const hasB = b + 1 < count;
      const startB = startA + hop;
      for (let n = 0; n < nFft; n++) {
        fftIn[2 * n] = window[n] * padded[startA + n];
        fftIn[2 * n + 1] = hasB ? window[n] * padded[startB + n] : 0;
      }
      fft.transform(fftOut, fftIn);
      // Split Z = FFT(a + ib): A[k] = (Z[k] + conj Z[N-k]) / 2, B[k] = (Z[k] - conj Z[N-k]) / 2i.
      const rowA = b * stride;
      const rowB = rowA + stride;
      for (let k = 0; k < bins; k++) {
        const m = k === 0 ? 0 : nFft - k;
        const zr = fftOut[2 * k],
          zi = fftOut[2 * k + 1];
        const wr = fftOut[2 * m],
          wi = fftOut[2 * m + 1];
        blockRe[rowA + k] = 0.5 * (zr + wr);
        blockIm[rowA + k] = 0.5 * (zi - wi);
        if (hasB) {
          blockRe[rowB + k] = 0.5 * (zi + wi);
          blockIm[rowB + k] = 0.5 * (wr - zr);
        }
      }
    }
    for (let k = 0; k < bins; k++) {
      const base = k * frames + t0;
      for (let b = 0; b < count; b++) {
        re[base + b] = blockRe[b * stride + k];
        im[base + b] = blockIm[b * stride + k];
      }
    }
  }
  return { re, im, bins, frames };
}

/**
 * Inverse of stft() with torch.istft(center=true) semantics: overlap-add of windowed inverse FFTs divided by the
 * window-sum-square envelope, then the nFft/2 padding trimmed and the result cut (or zero-extended) to `length`.
 * The imaginary parts of the DC and Nyquist bins are ignored, as a real inverse FFT does.
 */
export function istft(spec: Spectrogram, length: number, opts?: StftOptions): Float32Array {
  const nFft = opts?.nFft ?? (spec.bins - 1) * 2;
  const { hop } = resolve({ nFft, hop: opts?.hop });
  if (spec.bins !== nFft / 2 + 1) {
    throw new XumxError(
      'BAD_ARGUMENT',
      `spectrogram has ${spec.bins} bins, an STFT of size ${nFft} has ${nFft / 2 + 1}`,
    );
  }
  if (!Number.isInteger(length) || length < 0) {
    throw new XumxError('BAD_ARGUMENT', `ISTFT length must be a non-negative integer, got ${length}`);
  }
  const plan = planFor(nFft);
  const { bins, stride, fft, window, synthesis, fftIn, fftOut, blockRe, blockIm } = plan;
  const { frames, re, im } = spec;
  const half = nFft / 2;
  const out = new Float32Array(length);

  for (let t0 = 0; t0 < frames; t0 += BLOCK) {
    const count = Math.min(BLOCK, frames - t0);
    for (let k = 0; k < bins; k++) {
      const base = k * frames + t0;
      for (let b = 0; b < count; b++) {
        blockRe[b * stride + k] = re[base + b];
        blockIm[b * stride + k] = im[base + b];
      }
    }
    for (let b = 0; b < count; b += 2) {
      const hasB = b + 1 < count;
      const rowA = b * stride;
      const rowB = rowA + stride;
      // Z = A + iB over the full Hermitian spectrum; ifft(Z) = conj(fft(conj Z)) / N gives frame A in the real
      // part and frame B in the imaginary part. fftIn holds conj Z.
      for (let k = 0; k < bins; k++) {
        const edge = k === 0 || k === half;
        const ar = blockRe[rowA + k];
        const ai = edge ? 0 : blockIm[rowA + k];
        const br = hasB ? blockRe[rowB + k] : 0;
        const bi = hasB && !edge ? blockIm[rowB + k] : 0;
        fftIn[2 * k] = ar - bi;
        fftIn[2 * k + 1] = -(ai + br);
        if (!edge) {
          const m = nFft - k;
          fftIn[2 * m] = ar + bi;
          fftIn[2 * m + 1] = ai - br;
        }
      }
      fft.transform(fftOut, fftIn);
      overlapAdd(out, fftOut, 0, (t0 + b) * hop - half, synthesis, 1);
      if (hasB) overlapAdd(out, fftOut, 1, (t0 + b + 1) * hop - half, synthesis, -1);
    }
  }
  divideByEnvelope(out, window, frames, hop, half);
  return out;
}

/** out[start + n] += sign * synthesis[n] * z[2n + part], for the part of the frame that lands inside out. */
function overlapAdd(
  out: Float32Array,
  z: number[],
  part: 0 | 1,
  start: number,
  synthesis: Float64Array,
  sign: 1 | -1,
): void {
  const n0 = Math.max(0, -start);
  const n1 = Math.min(synthesis.length, out.length - start);
  for (let n = n0; n < n1; n++) out[start + n] += sign * synthesis[n] * z[2 * n + part];
}

/** Divides by sum_t window[p - t*hop]^2 (p in padded coordinates); where no frame covers a sample it stays 0. */
export function divideByEnvelope(
  out: Float32Array,
  window: Float64Array,
  frames: number,
  hop: number,
  half: number,
): void {
  const { inversePeriodic, start, end, phase } = envelopeInterior(window, frames, hop, half, out.length);
  divideEnvelopeEdges(out, window, frames, hop, half, start, end);
  for (let i = start, r = phase; i < end; i++) {
    out[i] *= inversePeriodic[r];
    if (++r === hop) r = 0;
  }
}

/**
 * The envelope's interior, where every overlapping frame exists and 1/envelope repeats with period hop:
 * output indices [start, end) (padded positions nFft-1 .. (frames-1)*hop), starting at phase `phase` of the period.
 */
export function envelopeInterior(
  window: Float64Array,
  frames: number,
  hop: number,
  half: number,
  length: number,
): { inversePeriodic: Float64Array; start: number; end: number; phase: number } {
  const nFft = window.length;
  const inversePeriodic = new Float64Array(hop);
  for (let r = 0; r < hop; r++) {
    let env = 0;
    for (let n = r; n < nFft; n += hop) env += window[n] * window[n];
    inversePeriodic[r] = env > 1e-11 ? 1 / env : 1;
  }
  const start = Math.min(length, Math.max(0, nFft - 1 - half));
  const end = Math.max(start, Math.min(length, (frames - 1) * hop - half + 1));
  return { inversePeriodic, start, end, phase: (start + half) % hop };
}

/** The envelope division outside the interior [start, end), where frames are missing and each sample has its own. */
export function divideEnvelopeEdges(
  out: Float32Array,
  window: Float64Array,
  frames: number,
  hop: number,
  half: number,
  start: number,
  end: number,
): void {
  for (let i = 0; i < start; i++) out[i] *= edgeFactor(i + half, window, frames, hop);
  for (let i = end; i < out.length; i++) out[i] *= edgeFactor(i + half, window, frames, hop);
}

function edgeFactor(p: number, window: Float64Array, frames: number, hop: number): number {
  const nFft = window.length;
  let env = 0;
  const tLo = Math.max(0, Math.ceil((p - nFft + 1) / hop));
  const tHi = Math.min(frames - 1, Math.floor(p / hop));
  for (let t = tLo; t <= tHi; t++) {
    const w = window[p - t * hop];
    env += w * w;
  }
  return env > 1e-11 ? 1 / env : 1;
}

/** |X| in the same bin-major layout. */
export function magnitude(spec: Spectrogram, out?: Float32Array): Float32Array {
  const n = spec.bins * spec.frames;
  const mag = out ?? new Float32Array(n);
  if (mag.length < n) {
    throw new XumxError('BAD_ARGUMENT', `magnitude buffer holds ${mag.length} values, the spectrogram has ${n}`);
  }
  const { re, im } = spec;
  for (let i = 0; i < n; i++) mag[i] = Math.sqrt(re[i] * re[i] + im[i] * im[i]);
  return mag;
}
