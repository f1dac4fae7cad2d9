// The Wiener filter's first EM iteration, fused with its initial estimates (wiener.ts's fast path).
//
// Every initial estimate norbert starts from is a real amplitude times the mixture's phase u_c = x_c / |x_c|
// (u = 1 where x = 0): with the mixture phase, A = v (the model magnitude); with softmask,
// A = |x| v / (eps + Σ_k v_k); the residual is A = |x| − Σ_j A_j. So the first EM step needs no complex
// estimates at all: per bin f
//   R_j(f) ∝ Σ_t [A_l², A_l A_r w; ·, A_r²]   with w = u_l conj(u_r), the inter-channel phase,
//   v_j(t) = (A_l² + A_r²) / 2,
// and y_j = v_j R_j Cxx⁻¹ x as in wiener.ts's emStep. The cell's complex initial estimates are never written,
// read back or rounded to float32: two passes over each bin's frames, on small float64 scratch rows that stay
// in cache, with loops over one source at a time so that each inner loop is a plain run over typed arrays.
// Results equal the general path (initial estimates, then emStep) up to float rounding (wiener.test.ts).
import type { Spectrogram } from './stft.ts';
import type { StereoSpectrogram } from './wiener.ts';

interface Scratch {
  frames: number;
  /** [J][2][frames] amplitudes A of the current bin. */
  amp: Float64Array;
  /** [J][frames] v_j, already divided by scale². */
  v: Float64Array;
  /** [J][4] R_j of the current bin: R00, R11, Re R01, Im R01. */
  rs: Float64Array;
  wRe: Float64Array; wIm: Float64Array;
  magL: Float64Array; magR: Float64Array;
  c00: Float64Array; c11: Float64Array; c01re: Float64Array; c01im: Float64Array;
  z0r: Float64Array; z0i: Float64Array; z1r: Float64Array; z1i: Float64Array;
}

let cached: Scratch | null = null;

function scratchFor(J: number, frames: number): Scratch {
  if (cached && cached.frames === frames && cached.rs.length >= 4 * J) return cached;
  const row = () => new Float64Array(frames);
  cached = {
    frames, amp: new Float64Array(J * 2 * frames), v: new Float64Array(J * frames), rs: new Float64Array(4 * J),
    wRe: row(), wIm: row(), magL: row(), magR: row(),
    c00: row(), c11: row(), c01re: row(), c01im: row(),
    z0r: row(), z0i: row(), z1r: row(), z1i: row(),
  };
  return cached;
}

/**
 * Writes into `sources` (zero-filled, one per estimate plus a last residual one when `residual`) the result of
 * the initial estimates followed by one EM iteration on values divided by `scale`.
 * @param estimates per source its magnitudes [2][bins][frames].
 */
export function firstEmStep(estimates: Float32Array[], mix: [Spectrogram, Spectrogram], sources: StereoSpectrogram[],
  opts: { softmask: boolean; residual: boolean; eps: number; scale: number }): void {
  const { bins, frames } = mix[0];
  const { softmask, residual, eps, scale } = opts;
  const plane = bins * frames;
  const J = sources.length;
  const inv = 1 / scale;
  const s = scratchFor(J, frames);
  const reg = Math.sqrt(eps);
  for (let f = 0; f < bins; f++) {
    const row = f * frames;
    mixtureRow(mix, row, s);
    for (let c = 0; c < 2; c++) amplitudeRows(estimates, c * plane + row, c, softmask, residual, eps, s);
    s.c00.fill(reg);
    s.c11.fill(reg);
    s.c01re.fill(0);
    s.c01im.fill(0);
    for (let j = 0; j < J; j++) covarianceRow(j, inv * inv, eps, s);
    solveRow(mix, row, inv, s);
    for (let j = 0; j < J; j++) filterRow(sources[j], j, row, scale, s);
  }
}

/** Mixture magnitudes and the inter-channel phase w = u_l conj(u_r) of one bin. */
function mixtureRow(mix: [Spectrogram, Spectrogram], row: number, s: Scratch): void {
  const xlRe = mix[0].re, xlIm = mix[0].im, xrRe = mix[1].re, xrIm = mix[1].im;
  const { magL, magR, wRe, wIm, frames } = s;
  for (let t = 0; t < frames; t++) {
    const i = row + t;
    const lr = xlRe[i], li = xlIm[i], rr = xrRe[i], ri = xrIm[i];
    const ml = Math.sqrt(lr * lr + li * li), mr = Math.sqrt(rr * rr + ri * ri);
    magL[t] = ml;
    magR[t] = mr;
    const d = ml * mr;
    if (d > 0) {
      const k = 1 / d;
      wRe[t] = (lr * rr + li * ri) * k;
      wIm[t] = (li * rr - lr * ri) * k;
    } else {
      // angle(0) = 0, as numpy's: u = 1 where a channel of the mixture is 0.
      const ulr = ml > 0 ? lr / ml : 1, uli = ml > 0 ? li / ml : 0;
      const urr = mr > 0 ? rr / mr : 1, uri = mr > 0 ? ri / mr : 0;
      wRe[t] = ulr * urr + uli * uri;
      wIm[t] = uli * urr - ulr * uri;
    }
  }
}

/** Amplitude rows amp[j][c] of one bin and channel, from the estimates at `off`. */
function amplitudeRows(estimates: Float32Array[], off: number, c: number, softmask: boolean, residual: boolean, eps: number, s: Scratch): void {
  const { amp, frames } = s;
  const mag = c === 0 ? s.magL : s.magR;
  const N = estimates.length;
  for (let j = 0; j < N; j++) {
    const e = estimates[j];
    const o = (2 * j + c) * frames;
    for (let t = 0; t < frames; t++) amp[o + t] = e[off + t];
  }
  if (softmask) {
    const g = s.z0r; // free until solveRow
    g.fill(eps);
    for (let j = 0; j < N; j++) {
      const o = (2 * j + c) * frames;
      for (let t = 0; t < frames; t++) g[t] += amp[o + t];
    }
    for (let t = 0; t < frames; t++) g[t] = mag[t] / g[t];
    for (let j = 0; j < N; j++) {
      const o = (2 * j + c) * frames;
      for (let t = 0; t < frames; t++) amp[o + t] *= g[t];
    }
  }
  if (residual) {
    const o = (2 * N + c) * frames;
    for (let t = 0; t < frames; t++) amp[o + t] = mag[t];
    for (let j = 0; j < N; j++) {
      const oj = (2 * j + c) * frames;
      for (let t = 0; t < frames; t++) amp[o + t] -= amp[oj + t];
    }
  }
}

/** R_j of one bin into rs, normalised by the summed PSD (scale squared as in emStep); v_j into v; Cxx += v_j R_j. */
function covarianceRow(j: number, inv2: number, eps: number, s: Scratch): void {
  const { amp, v, rs, wRe, wIm, c00, c11, c01re, c01im, frames } = s;
  const oL = 2 * j * frames, oR = oL + frames;
  let s00 = 0, s11 = 0, s01re = 0, s01im = 0;
  for (let t = 0; t < frames; t++) {
    const al = amp[oL + t], ar = amp[oR + t];
    s00 += al * al;
    s11 += ar * ar;
    const p = al * ar;
    s01re += p * wRe[t];
    s01im += p * wIm[t];
  }
  const norm = inv2 / (eps + 0.5 * (s00 + s11) * inv2);
  const r00 = s00 * norm, r11 = s11 * norm, rre = s01re * norm, rim = s01im * norm;
  rs[4 * j] = r00; rs[4 * j + 1] = r11; rs[4 * j + 2] = rre; rs[4 * j + 3] = rim;
  const ov = j * frames;
  const h = 0.5 * inv2;
  for (let t = 0; t < frames; t++) {
    const al = amp[oL + t], ar = amp[oR + t];
    const vj = (al * al + ar * ar) * h;
    v[ov + t] = vj;
    c00[t] += vj * r00;
    c11[t] += vj * r11;
    c01re[t] += vj * rre;
    c01im[t] += vj * rim;
  }
}

/** z = Cxx⁻¹ x / scale for one bin (zero where Cxx is singular or not finite). */
function solveRow(mix: [Spectrogram, Spectrogram], row: number, inv: number, s: Scratch): void {
  const xlRe = mix[0].re, xlIm = mix[0].im, xrRe = mix[1].re, xrIm = mix[1].im;
  const { c00, c11, c01re, c01im, z0r, z0i, z1r, z1i, frames } = s;
  for (let t = 0; t < frames; t++) {
    const i = row + t;
    const a = c00[t], b = c11[t], cr = c01re[t], ci = c01im[t];
    const det = a * b - (cr * cr + ci * ci);
    if (det > 0 && det < Infinity) {
      const d = inv / det;
      const x0r = xlRe[i], x0i = xlIm[i], x1r = xrRe[i], x1i = xrIm[i];
      z0r[t] = (b * x0r - (cr * x1r - ci * x1i)) * d;
      z0i[t] = (b * x0i - (cr * x1i + ci * x1r)) * d;
      z1r[t] = (a * x1r - (cr * x0r + ci * x0i)) * d;
      z1i[t] = (a * x1i - (cr * x0i - ci * x0r)) * d;
    } else {
      z0r[t] = 0; z0i[t] = 0; z1r[t] = 0; z1i[t] = 0;
    }
  }
}

/** y_j = v_j R_j z, times scale, into one bin of the source's output. */
function filterRow(out: StereoSpectrogram, j: number, row: number, scale: number, s: Scratch): void {
  const { v, rs, z0r, z0i, z1r, z1i, frames } = s;
  const a = rs[4 * j], b = rs[4 * j + 1], cr = rs[4 * j + 2], ci = rs[4 * j + 3];
  const ov = j * frames;
  const ylRe = out[0].re, ylIm = out[0].im, yrRe = out[1].re, yrIm = out[1].im;
  for (let t = 0; t < frames; t++) {
    const g = v[ov + t] * scale;
    const i = row + t;
    const pr = z0r[t], pi = z0i[t], qr = z1r[t], qi = z1i[t];
    ylRe[i] = g * (a * pr + cr * qr - ci * qi);
    ylIm[i] = g * (a * pi + cr * qi + ci * qr);
    yrRe[i] = g * (cr * pr + ci * pi + b * qr);
    yrIm[i] = g * (cr * pi - ci * pr + b * qi);
  }
}
