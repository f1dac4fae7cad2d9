// Multichannel (stereo) Wiener post-filter with the semantics of sigsep/norbert's `wiener`, the filter X-UMX is
// evaluated with, plus open-unmix's `residual` option.
//
// 1. Initial source estimates y_j: the model magnitude with the mixture phase, or (softmask) the mixture times
//    v_j / (eps + sum_k v_k), per channel.
// 2. residual: one more source, the mixture minus the sum of those estimates.
// 3. `iterations` EM steps on the mixture and estimates scaled by max(1, max|x| / 10):
//      v_j(t,f) = mean over channels of |y_j|^2
//      R_j(f)   = sum_t y_j y_j^H / (eps + sum_t v_j)
//      Cxx(t,f) = sum_j v_j R_j + sqrt(eps) I
//      y_j      = v_j R_j Cxx^-1 x
//    computed as z = Cxx^-1 x once per cell and y_j = v_j R_j z (same product, fewer operations).
//
// This is the reference: the DSP kernels' firstEmStep (kernels/assembly/dsp.ts) fuses steps 1–2 with the first EM
// step for speed and is tested against these literal steps (kernels.test.ts). Everything is computed bin by bin in
// float64, in place in the output buffers: R_j(f) needs all frames of bin f from the previous estimates, and each
// cell's update only reads that cell's previous estimates.
import { XumxError } from '../errors.ts';
import type { Spectrogram } from './stft.ts';

export interface WienerOptions {
  /** EM iterations; 0 returns the initial estimates (X-UMX evaluation uses 1). */
  iterations: number;
  /** Initial estimates by ratio mask instead of magnitude with mixture phase (X-UMX evaluation: false). */
  softmask: boolean;
  /** Append a "residual" source: mixture minus the sum of the initial estimates. */
  residual: boolean;
  /** Regularisation; default norbert's for a complex128 mixture, the float64 machine epsilon. */
  eps?: number;
}

export const DEFAULT_WIENER_EPS = Number.EPSILON;

/** Stereo complex spectrogram of one source: [left, right]. */
export type StereoSpectrogram = [Spectrogram, Spectrogram];

/**
 * @param estimates per source, its magnitude for both channels: [2][bins][frames] (channel-major, then bin-major,
 *   frames contiguous), one source's slice of the model output est_mag [sources, batch, 2, bins, frames].
 * @param mix the stereo mixture STFT.
 * @param reuse an earlier result whose buffers may be overwritten (every cell is written), to spare the
 *   allocation and first-touch page faults of ~16 MB per 256-frame chunk.
 * @returns per source a stereo complex spectrogram, plus a last "residual" one when opts.residual.
 */
export function wiener(
  estimates: Float32Array[],
  mix: [Spectrogram, Spectrogram],
  opts: WienerOptions,
  reuse?: StereoSpectrogram[],
): StereoSpectrogram[] {
  const { bins, frames } = mix[0];
  const eps = opts.eps ?? DEFAULT_WIENER_EPS;
  validate(estimates, mix, opts, eps);
  const plane = bins * frames;

  const sources: StereoSpectrogram[] = [];
  const count = estimates.length + (opts.residual ? 1 : 0);
  for (let j = 0; j < count; j++) {
    const old = reuse?.[j];
    const fits = old && old.every((s) => s.bins === bins && s.frames === frames);
    sources.push(fits ? old : [emptySpectrogram(bins, frames), emptySpectrogram(bins, frames)]);
  }

  for (let c = 0; c < 2; c++) {
    const x = mix[c];
    const ys = sources.map((s) => s[c]);
    if (opts.softmask) initSoftmask(estimates, c * plane, x, ys, eps, plane);
    else initMixturePhase(estimates, c * plane, x, ys, plane);
    if (opts.residual) initResidual(x, ys, plane);
  }

  if (opts.iterations > 0) {
    const scale = Math.max(1, maxAbs(mix) / 10);
    for (let it = 0; it < opts.iterations; it++) emStep(sources, mix, scale, eps);
  }
  return sources;
}

function validate(estimates: Float32Array[], mix: [Spectrogram, Spectrogram], opts: WienerOptions, eps: number): void {
  const [l, r] = mix;
  if (l.bins !== r.bins || l.frames !== r.frames) {
    throw new XumxError(
      'BAD_ARGUMENT',
      `Wiener filter: mixture channels differ in shape (${l.bins}x${l.frames} vs ${r.bins}x${r.frames})`,
    );
  }
  if (estimates.length === 0) throw new XumxError('BAD_ARGUMENT', 'Wiener filter: no source estimates given');
  const expected = 2 * l.bins * l.frames;
  estimates.forEach((e, j) => {
    if (e.length !== expected) {
      throw new XumxError(
        'BAD_ARGUMENT',
        `Wiener filter: source ${j} has ${e.length} magnitudes, expected 2x${l.bins}x${l.frames} = ${expected}`,
      );
    }
  });
  if (!Number.isInteger(opts.iterations) || opts.iterations < 0) {
    throw new XumxError(
      'BAD_ARGUMENT',
      `Wiener filter: iterations must be a non-negative integer, got ${opts.iterations}`,
    );
  }
  if (!(eps > 0)) throw new XumxError('BAD_ARGUMENT', `Wiener filter: eps must be positive, got ${eps}`);
}

function emptySpectrogram(bins: number, frames: number): Spectrogram {
  return { re: new Float32Array(bins * frames), im: new Float32Array(bins * frames), bins, frames };
}

function initMixturePhase(
  estimates: Float32Array[],
  offset: number,
  x: Spectrogram,
  ys: Spectrogram[],
  plane: number,
): void {
  const n = estimates.length;
  for (let i = 0; i < plane; i++) {
    const xr = x.re[i],
      xi = x.im[i];
    const mag = Math.sqrt(xr * xr + xi * xi);
    // angle(0) = 0, as numpy's: a silent mixture cell gives a real estimate.
    const cos = mag > 0 ? xr / mag : 1;
    const sin = mag > 0 ? xi / mag : 0;
    for (let j = 0; j < n; j++) {
      const a = estimates[j][offset + i];
      ys[j].re[i] = a * cos;
      ys[j].im[i] = a * sin;
    }
  }
}

function initSoftmask(
  estimates: Float32Array[],
  offset: number,
  x: Spectrogram,
  ys: Spectrogram[],
  eps: number,
  plane: number,
): void {
  const n = estimates.length;
  for (let i = 0; i < plane; i++) {
    let total = 0;
    for (let j = 0; j < n; j++) total += estimates[j][offset + i];
    const norm = 1 / (eps + total);
    const xr = x.re[i],
      xi = x.im[i];
    for (let j = 0; j < n; j++) {
      const g = estimates[j][offset + i] * norm;
      ys[j].re[i] = g * xr;
      ys[j].im[i] = g * xi;
    }
  }
}

/** The last of ys becomes x minus the sum of the others. */
function initResidual(x: Spectrogram, ys: Spectrogram[], plane: number): void {
  const res = ys[ys.length - 1];
  const n = ys.length - 1;
  for (let i = 0; i < plane; i++) {
    let re = x.re[i],
      im = x.im[i];
    for (let j = 0; j < n; j++) {
      re -= ys[j].re[i];
      im -= ys[j].im[i];
    }
    res.re[i] = re;
    res.im[i] = im;
  }
}

function maxAbs(mix: [Spectrogram, Spectrogram]): number {
  let max2 = 0;
  for (const x of mix) {
    const n = x.bins * x.frames;
    for (let i = 0; i < n; i++) {
      const m2 = x.re[i] * x.re[i] + x.im[i] * x.im[i];
      if (m2 > max2) max2 = m2;
    }
  }
  return Math.sqrt(max2);
}

/** One EM iteration, in place. Values are divided by `scale` on read and multiplied back on write. */
export function emStep(
  sources: StereoSpectrogram[],
  mix: [Spectrogram, Spectrogram],
  scale: number,
  eps: number,
): void {
  const { bins, frames } = mix[0];
  const J = sources.length;
  const inv = 1 / scale;
  const inv2 = inv * inv;
  const reg = Math.sqrt(eps);
  const lRe = sources.map((s) => s[0].re),
    lIm = sources.map((s) => s[0].im);
  const rRe = sources.map((s) => s[1].re),
    rIm = sources.map((s) => s[1].im);
  const xlRe = mix[0].re,
    xlIm = mix[0].im,
    xrRe = mix[1].re,
    xrIm = mix[1].im;
  // Per source spatial covariance of the current bin: R00, R11 real, R01 complex (R10 = conj R01).
  const r00 = new Float64Array(J),
    r11 = new Float64Array(J),
    r01re = new Float64Array(J),
    r01im = new Float64Array(J);
  const v = new Float64Array(J);

  for (let f = 0; f < bins; f++) {
    const row = f * frames;
    const rowEnd = row + frames;
    for (let j = 0; j < J; j++) {
      const aRe = lRe[j],
        aIm = lIm[j],
        bRe = rRe[j],
        bIm = rIm[j];
      let s00 = 0,
        s11 = 0,
        s01re = 0,
        s01im = 0;
      for (let i = row; i < rowEnd; i++) {
        const ar = aRe[i],
          ai = aIm[i],
          br = bRe[i],
          bi = bIm[i];
        s00 += ar * ar + ai * ai;
        s11 += br * br + bi * bi;
        // y_l conj(y_r)
        s01re += ar * br + ai * bi;
        s01im += ai * br - ar * bi;
      }
      // sum_t v_j = (s00 + s11) / 2; the scale enters the sums squared.
      const norm = inv2 / (eps + 0.5 * (s00 + s11) * inv2);
      r00[j] = s00 * norm;
      r11[j] = s11 * norm;
      r01re[j] = s01re * norm;
      r01im[j] = s01im * norm;
    }

    for (let i = row; i < rowEnd; i++) {
      let c00 = reg,
        c11 = reg,
        c01re = 0,
        c01im = 0;
      for (let j = 0; j < J; j++) {
        const ar = lRe[j][i],
          ai = lIm[j][i],
          br = rRe[j][i],
          bi = rIm[j][i];
        const vj = 0.5 * (ar * ar + ai * ai + br * br + bi * bi) * inv2;
        v[j] = vj;
        c00 += vj * r00[j];
        c11 += vj * r11[j];
        c01re += vj * r01re[j];
        c01im += vj * r01im[j];
      }
      // Cxx is Hermitian, so det = c00 c11 - |c01|^2 is real, and Cxx^-1 = [[c11, -c01], [-conj c01, c00]] / det.
      const det = c00 * c11 - (c01re * c01re + c01im * c01im);
      const x0r = xlRe[i] * inv,
        x0i = xlIm[i] * inv,
        x1r = xrRe[i] * inv,
        x1i = xrIm[i] * inv;
      let z0r = 0,
        z0i = 0,
        z1r = 0,
        z1i = 0;
      if (det > 0 && Number.isFinite(det)) {
        const d = 1 / det;
        // z0 = (c11 x0 - c01 x1) / det ; z1 = (-conj(c01) x0 + c00 x1) / det
        z0r = (c11 * x0r - (c01re * x1r - c01im * x1i)) * d;
        z0i = (c11 * x0i - (c01re * x1i + c01im * x1r)) * d;
        z1r = (c00 * x1r - (c01re * x0r + c01im * x0i)) * d;
        z1i = (c00 * x1i - (c01re * x0i - c01im * x0r)) * d;
      }
      for (let j = 0; j < J; j++) {
        const g = v[j] * scale;
        const a = r00[j],
          b = r11[j],
          cr = r01re[j],
          ci = r01im[j];
        // y0 = v (R00 z0 + R01 z1) ; y1 = v (conj(R01) z0 + R11 z1)
        lRe[j][i] = g * (a * z0r + cr * z1r - ci * z1i);
        lIm[j][i] = g * (a * z0i + cr * z1i + ci * z1r);
        rRe[j][i] = g * (cr * z0r + ci * z0i + b * z1r);
        rIm[j][i] = g * (cr * z0i - ci * z0r + b * z1i);
      }
    }
  }
}
