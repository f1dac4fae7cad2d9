// AssemblyScript source of the DSP kernels (compiled to WebAssembly with SIMD by ../build.ts, which the build step
// `npm run build:kernels` runs): the STFT and ISTFT around PFFFT, the Wiener filter's fused first EM step and the
// separation controls. They exist because the benchmarks showed the same code in JavaScript to be the engine's
// bottleneck (bench/dsp.bench.ts, bench/rerender.bench.ts): fft.js plus the float64 loops took more time per chunk
// than the network.
//
// Every argument is a byte offset into the one linear memory this module shares with PFFFT (it imports PFFFT's
// memory), so nothing is copied between the FFT and the rest. The JavaScript side (../index.ts) owns every
// allocation; these functions never allocate and keep no state. Arrays are 16-byte aligned, and scratch rows that
// SIMD loops read whole ("stride" values, a multiple of 4) are zero-padded past their last frame.
// The math and its reference implementations: ../../stft.ts, ../../wiener.ts (the literal steps), ../../controls.ts.

@external("pffft", "transform")
declare function pffftTransform(setup: usize, input: usize, output: usize, work: usize, direction: i32): void;

const FORWARD: i32 = 0;
const BACKWARD: i32 = 1;
/** Frames transformed before one transposition between frame-major FFT rows and the bin-major spectrogram. */
const BLOCK: i32 = 16;
/**
 * Floats between the block's rows: nFft plus one cache line, so that the BLOCK rows a transposition touches at
 * once do not all map to the same cache set (rows exactly nFft · 4 bytes apart would).
 */
@inline function rowStride(nFft: i32): i32 {
  return nFft + 16;
}

/** Address of float32 element `i` of the array at `base`. */
@inline function f(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

@inline function get(base: usize, i: i32): f32 {
  return load<f32>(f(base, i));
}

@inline function put(base: usize, i: i32, x: f32): void {
  store<f32>(f(base, i), x);
}

@inline function vget(base: usize, i: i32): v128 {
  return v128.load(f(base, i));
}

@inline function vput(base: usize, i: i32, x: v128): void {
  v128.store(f(base, i), x);
}

// ---------------------------------------------------------------------------------------------------------------
// STFT / ISTFT (torch semantics; the caller pads, and divides the ISTFT by the window's sum of squares)

/** Floats of scratch stft() and istft() need. */
export function fftScratch(nFft: i32): i32 {
  return 2 * nFft + BLOCK * rowStride(nFft);
}

/**
 * Onesided STFT of `frames` frames of the reflect-padded signal at `padded`, written bin-major into re/im
 * ([bins][frames], bins = nFft/2 + 1). scratch: fftScratch(nFft) floats.
 */
export function stft(padded: usize, window: usize, nFft: i32, hop: i32, frames: i32, setup: usize, scratch: usize,
  re: usize, im: usize): void {
  const bins = (nFft >> 1) + 1;
  const input = scratch;
  const work = f(scratch, nFft);
  const block = f(scratch, 2 * nFft);
  const nyquist = (bins - 1) * frames;
  for (let t0 = 0; t0 < frames; t0 += BLOCK) {
    const count = min(BLOCK, frames - t0);
    for (let b = 0; b < count; b++) {
      const src = f(padded, (t0 + b) * hop);
      for (let n = 0; n < nFft; n += 4) vput(input, n, f32x4.mul(vget(src, n), vget(window, n)));
      pffftTransform(setup, input, f(block, b * rowStride(nFft)), work, FORWARD);
    }
    // PFFFT's ordered real spectrum: [X0, X(N/2), Re X1, Im X1, Re X2, ...]; DC and Nyquist are real.
    for (let b = 0; b < count; b++) {
      const row = f(block, b * rowStride(nFft));
      put(re, t0 + b, get(row, 0));
      put(im, t0 + b, 0);
      put(re, nyquist + t0 + b, get(row, 1));
      put(im, nyquist + t0 + b, 0);
    }
    // Bins two at a time and frames four at a time: a 4x4 transposition of (re k, im k, re k+1, im k+1) rows.
    const quads = count & ~3;
    let k = 1;
    for (; k + 1 < bins - 1; k += 2) {
      const dre = f(re, k * frames + t0);
      const dim = f(im, k * frames + t0);
      for (let b = 0; b < quads; b += 4) {
        const r0 = v128.load(f(block, b * rowStride(nFft) + 2 * k));
        const r1 = v128.load(f(block, (b + 1) * rowStride(nFft) + 2 * k));
        const r2 = v128.load(f(block, (b + 2) * rowStride(nFft) + 2 * k));
        const r3 = v128.load(f(block, (b + 3) * rowStride(nFft) + 2 * k));
        const a = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5); // re k, im k of frames b, b+1
        const c = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
        const e = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7); // bin k+1
        const g = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
        vput(dre, b, v128.shuffle<i64>(a, c, 0, 2));
        vput(dim, b, v128.shuffle<i64>(a, c, 1, 3));
        vput(dre, b + frames, v128.shuffle<i64>(e, g, 0, 2));
        vput(dim, b + frames, v128.shuffle<i64>(e, g, 1, 3));
      }
      for (let b = quads; b < count; b++) {
        const p = f(block, b * rowStride(nFft) + 2 * k);
        put(dre, b, load<f32>(p));
        put(dim, b, load<f32>(p, 4));
        put(dre, b + frames, load<f32>(p, 8));
        put(dim, b + frames, load<f32>(p, 12));
      }
    }
    for (; k < bins - 1; k++) {
      const dre = f(re, k * frames + t0);
      const dim = f(im, k * frames + t0);
      for (let b = 0; b < count; b++) {
        const p = f(block, b * rowStride(nFft) + 2 * k);
        put(dre, b, load<f32>(p));
        put(dim, b, load<f32>(p, 4));
      }
    }
  }
}

/**
 * Overlap-adds synthesis · IFFT(frame) of every frame of the bin-major spectrogram re/im into `out` (outLength
 * floats, zeroed by the caller, in unpadded coordinates: frame t starts at t · hop − nFft/2). `synthesis` is the
 * window divided by nFft (PFFFT's inverse is unscaled). The imaginary parts of DC and Nyquist are ignored.
 */
export function istft(re: usize, im: usize, frames: i32, nFft: i32, hop: i32, setup: usize, synthesis: usize,
  scratch: usize, out: usize, outLength: i32): void {
  const bins = (nFft >> 1) + 1;
  const half = nFft >> 1;
  const output = scratch;
  const work = f(scratch, nFft);
  const block = f(scratch, 2 * nFft);
  const nyquist = (bins - 1) * frames;
  for (let t0 = 0; t0 < frames; t0 += BLOCK) {
    const count = min(BLOCK, frames - t0);
    for (let b = 0; b < count; b++) {
      const row = f(block, b * rowStride(nFft));
      put(row, 0, get(re, t0 + b));
      put(row, 1, get(re, nyquist + t0 + b));
    }
    // stft()'s transposition backwards: two bins and four frames at a time.
    const quads = count & ~3;
    let k = 1;
    for (; k + 1 < bins - 1; k += 2) {
      const sre = f(re, k * frames + t0);
      const sim = f(im, k * frames + t0);
      for (let b = 0; b < quads; b += 4) {
        const re0 = vget(sre, b), im0 = vget(sim, b), re1 = vget(sre, b + frames), im1 = vget(sim, b + frames);
        const a = v128.shuffle<i32>(re0, im0, 0, 4, 1, 5); // bin k of frames b, b+1
        const c = v128.shuffle<i32>(re0, im0, 2, 6, 3, 7); // bin k of frames b+2, b+3
        const e = v128.shuffle<i32>(re1, im1, 0, 4, 1, 5); // bin k+1
        const g = v128.shuffle<i32>(re1, im1, 2, 6, 3, 7);
        v128.store(f(block, b * rowStride(nFft) + 2 * k), v128.shuffle<i64>(a, e, 0, 2));
        v128.store(f(block, (b + 1) * rowStride(nFft) + 2 * k), v128.shuffle<i64>(a, e, 1, 3));
        v128.store(f(block, (b + 2) * rowStride(nFft) + 2 * k), v128.shuffle<i64>(c, g, 0, 2));
        v128.store(f(block, (b + 3) * rowStride(nFft) + 2 * k), v128.shuffle<i64>(c, g, 1, 3));
      }
      for (let b = quads; b < count; b++) {
        const p = f(block, b * rowStride(nFft) + 2 * k);
        store<f32>(p, get(sre, b));
        store<f32>(p, get(sim, b), 4);
        store<f32>(p, get(sre, b + frames), 8);
        store<f32>(p, get(sim, b + frames), 12);
      }
    }
    for (; k < bins - 1; k++) {
      const sre = f(re, k * frames + t0);
      const sim = f(im, k * frames + t0);
      for (let b = 0; b < count; b++) {
        const p = f(block, b * rowStride(nFft) + 2 * k);
        store<f32>(p, get(sre, b));
        store<f32>(p, get(sim, b), 4);
      }
    }
    for (let b = 0; b < count; b++) {
      pffftTransform(setup, f(block, b * rowStride(nFft)), output, work, BACKWARD);
      const start = (t0 + b) * hop - half;
      const n0 = max(0, -start);
      const n1 = min(nFft, outLength - start);
      let n = n0;
      for (; n + 4 <= n1; n += 4) {
        const o = f(out, start + n);
        v128.store(o, f32x4.add(v128.load(o), f32x4.mul(vget(synthesis, n), vget(output, n))));
      }
      for (; n < n1; n++) put(out, start + n, get(out, start + n) + get(synthesis, n) * get(output, n));
    }
  }
}

/**
 * The ISTFT's division by the window's sum of squares in its periodic interior: out[i] *= inverse[r] for i in
 * [start, end), r = phase, phase + 1, … modulo hop (float64 `inverse`, as the reference multiplies).
 */
export function divideInterior(out: usize, start: i32, end: i32, inverse: usize, hop: i32, phase: i32): void {
  let i = start;
  let r = phase;
  while (i < end) {
    const run = min(hop - r, end - i);
    const o = f(out, i);
    let n = 0;
    for (; n + 2 <= run; n += 2) {
      const x = f64x2.promote_low_f32x4(v128.load64_zero(f(o, n)));
      v128.store64_lane(f(o, n), f32x4.demote_f64x2_zero(f64x2.mul(x, v128.load(inverse + (<usize>(r + n) << 3)))), 0);
    }
    for (; n < run; n++) put(o, n, <f32>(<f64>get(o, n) * load<f64>(inverse + (<usize>(r + n) << 3))));
    i += run;
    r = 0;
  }
}

/** max over n complex values (re, im float32) of re² + im² in float64, ignoring NaN as the reference's `>` does. */
export function maxPower(re: usize, im: usize, n: i32): f64 {
  let m = f64x2.splat(0);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const a = f64x2.promote_low_f32x4(v128.load64_zero(f(re, i)));
    const b = f64x2.promote_low_f32x4(v128.load64_zero(f(im, i)));
    m = f64x2.pmax(m, f64x2.add(f64x2.mul(a, a), f64x2.mul(b, b)));
  }
  let best = max(f64x2.extract_lane(m, 0), f64x2.extract_lane(m, 1));
  for (; i < n; i++) {
    const a = <f64>get(re, i), b = <f64>get(im, i);
    const p = a * a + b * b;
    if (p > best) best = p;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Wiener filter: initial estimates fused with the first EM step (reference: ../../wiener-first-step.ts)
//
// float64, two frames per SIMD lane pair, as the reference: float32 is not enough here. Where the channels are
// (nearly) equal, e.g. a mono song, Cxx = reg·I + Σ_j v_j R_j is singular but for reg = √eps ≈ 1.5e-8, and both
// det Cxx = c00 c11 − |c01|² and the numerator c11 x0 − c01 x1 of Cxx⁻¹x are differences of nearly equal numbers
// whose true value is of the order of reg: float32 rounds them to noise (kernels.test.ts checks a mono song).
// Only the inputs (float32 estimates and mixture) and the outputs (float32 spectrograms) are single precision.

/** Pointer table (u32 entries) layout: N estimates, then xlRe xlIm xrRe xrIm, then per output source ylRe ylIm yrRe yrIm. */
@inline function entry(table: usize, i: i32): usize {
  return <usize>load<u32>(table + (<usize>i << 2));
}

/** Scratch rows (each `stride` float64s), by index. */
const XLR = 0, XLI = 1, XRR = 2, XRI = 3, MAGL = 4, MAGR = 5, WRE = 6, WIM = 7;
const C00 = 8, C11 = 9, C01R = 10, C01I = 11, Z0R = 12, Z0I = 13, Z1R = 14, Z1I = 15, TMP = 16;
/** First amplitude row: amp[j][c] is row AMP + 2j + c; then v[j] is row AMP + 2J + j. */
const AMP = 17;

/** Rows of float64 scratch firstEmStep needs for J output sources. */
export function wienerScratchRows(J: i32): i32 {
  return AMP + 3 * J;
}

/** float64 coefficient slots firstEmStep needs for J output sources: R_j (4 each). */
export function wienerCoefficients(J: i32): i32 {
  return 4 * J;
}

/** Address of float64 element `i` of the array at `base`. */
@inline function d(base: usize, i: i32): usize {
  return base + (<usize>i << 3);
}

@inline function dget(base: usize, i: i32): v128 {
  return v128.load(d(base, i));
}

@inline function dput(base: usize, i: i32, x: v128): void {
  v128.store(d(base, i), x);
}

@inline function dsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** Scratch row r. */
@inline function rowOf(scratch: usize, stride: i32, r: i32): usize {
  return d(scratch, r * stride);
}

/** Widens `frames` float32s to a float64 scratch row and zeroes the row's padding up to `stride`. */
function loadRow(dst: usize, src: usize, frames: i32, stride: i32): void {
  let t = 0;
  for (; t + 2 <= frames; t += 2) dput(dst, t, f64x2.promote_low_f32x4(v128.load64_zero(f(src, t))));
  for (; t < frames; t++) store<f64>(d(dst, t), <f64>get(src, t));
  for (; t < stride; t++) store<f64>(d(dst, t), 0);
}

/**
 * One bin at a time: the initial estimates (magnitudes with the mixture's phase, or the softmask ones, and the
 * residual when asked), then y_j = v_j R_j Cxx⁻¹ x on values divided by `scale`, times `scale`.
 * @param table see entry(); N = number of estimates, J = N + residual.
 * @param scratch wienerScratchRows(J) rows of `stride` float64s; coef wienerCoefficients(J) float64s.
 * @param skip a source whose output is not written (−1: none): the caller gets that stem another way.
 */
export function firstEmStep(table: usize, N: i32, residual: bool, softmask: bool, bins: i32, frames: i32,
  eps: f64, scale: f64, scratch: usize, stride: i32, coef: usize, skip: i32): void {
  const J = N + (residual ? 1 : 0);
  const plane = bins * frames;
  const inv = 1 / scale;
  const inv2 = inv * inv;
  const reg = Math.sqrt(eps);
  const mix = N;
  const outs = N + 4;
  const c00 = rowOf(scratch, stride, C00), c11 = rowOf(scratch, stride, C11);
  const c01r = rowOf(scratch, stride, C01R), c01i = rowOf(scratch, stride, C01I);
  const z0r = rowOf(scratch, stride, Z0R), z0i = rowOf(scratch, stride, Z0I);
  const z1r = rowOf(scratch, stride, Z1R), z1i = rowOf(scratch, stride, Z1I);
  const xlr = rowOf(scratch, stride, XLR), xli = rowOf(scratch, stride, XLI);
  const xrr = rowOf(scratch, stride, XRR), xri = rowOf(scratch, stride, XRI);
  const wRe = rowOf(scratch, stride, WRE), wIm = rowOf(scratch, stride, WIM);

  for (let bin = 0; bin < bins; bin++) {
    const base = bin * frames;
    loadRow(xlr, f(entry(table, mix), base), frames, stride);
    loadRow(xli, f(entry(table, mix + 1), base), frames, stride);
    loadRow(xrr, f(entry(table, mix + 2), base), frames, stride);
    loadRow(xri, f(entry(table, mix + 3), base), frames, stride);
    mixtureRow(xlr, xli, xrr, xri, rowOf(scratch, stride, MAGL), rowOf(scratch, stride, MAGR), wRe, wIm, stride);
    for (let c = 0; c < 2; c++) {
      const mag = rowOf(scratch, stride, c == 0 ? MAGL : MAGR);
      for (let j = 0; j < N; j++) loadRow(rowOf(scratch, stride, AMP + 2 * j + c), f(entry(table, j), c * plane + base), frames, stride);
      if (softmask) softmaskRows(rowOf(scratch, stride, AMP + c), N, mag, rowOf(scratch, stride, TMP), eps, stride);
      if (residual) residualRow(rowOf(scratch, stride, AMP + c), N, mag, stride);
    }
    const regv = f64x2.splat(reg);
    for (let t = 0; t < stride; t += 2) {
      dput(c00, t, regv);
      dput(c11, t, regv);
      dput(c01r, t, f64x2.splat(0));
      dput(c01i, t, f64x2.splat(0));
    }
    for (let j = 0; j < J; j++) {
      covarianceRow(rowOf(scratch, stride, AMP + 2 * j), rowOf(scratch, stride, AMP + 2 * j + 1), wRe, wIm,
        rowOf(scratch, stride, AMP + 2 * J + j), c00, c11, c01r, c01i, inv2, eps, d(coef, 4 * j), stride);
    }
    solveRow(xlr, xli, xrr, xri, c00, c11, c01r, c01i, inv, z0r, z0i, z1r, z1i, stride);
    for (let j = 0; j < J; j++) {
      if (j == skip) continue;
      const o = outs + 4 * j;
      filterRow(rowOf(scratch, stride, AMP + 2 * J + j), d(coef, 4 * j), z0r, z0i, z1r, z1i, scale,
        f(entry(table, o), base), f(entry(table, o + 1), base), f(entry(table, o + 2), base), f(entry(table, o + 3), base), frames);
    }
  }
}

/** |x_l|, |x_r| and the inter-channel phase w = u_l conj(u_r), u = x / |x| (u = 1 where x = 0, as numpy's angle). */
function mixtureRow(xlr: usize, xli: usize, xrr: usize, xri: usize, magL: usize, magR: usize, wRe: usize, wIm: usize, stride: i32): void {
  const zero = f64x2.splat(0);
  const one = f64x2.splat(1);
  for (let t = 0; t < stride; t += 2) {
    const lr = dget(xlr, t), li = dget(xli, t), rr = dget(xrr, t), ri = dget(xri, t);
    const ml = f64x2.sqrt(f64x2.add(f64x2.mul(lr, lr), f64x2.mul(li, li)));
    const mr = f64x2.sqrt(f64x2.add(f64x2.mul(rr, rr), f64x2.mul(ri, ri)));
    dput(magL, t, ml);
    dput(magR, t, mr);
    const hasL = f64x2.gt(ml, zero), hasR = f64x2.gt(mr, zero);
    if (v128.all_true<i64>(v128.and(hasL, hasR))) {
      // both channels sound (nearly always): w = x_l conj(x_r) / (|x_l| |x_r|), one division instead of four
      const k = f64x2.div(one, f64x2.mul(ml, mr));
      dput(wRe, t, f64x2.mul(f64x2.add(f64x2.mul(lr, rr), f64x2.mul(li, ri)), k));
      dput(wIm, t, f64x2.mul(f64x2.sub(f64x2.mul(li, rr), f64x2.mul(lr, ri)), k));
      continue;
    }
    const ulr = v128.bitselect(f64x2.div(lr, ml), one, hasL);
    const uli = v128.bitselect(f64x2.div(li, ml), zero, hasL);
    const urr = v128.bitselect(f64x2.div(rr, mr), one, hasR);
    const uri = v128.bitselect(f64x2.div(ri, mr), zero, hasR);
    dput(wRe, t, f64x2.add(f64x2.mul(ulr, urr), f64x2.mul(uli, uri)));
    dput(wIm, t, f64x2.sub(f64x2.mul(uli, urr), f64x2.mul(ulr, uri)));
  }
}

/** Softmask initial amplitudes of one channel: amp_j ← |x| · amp_j / (eps + Σ_k amp_k). Rows of amp are 2 apart. */
function softmaskRows(amp: usize, N: i32, mag: usize, g: usize, eps: f64, stride: i32): void {
  const step = 2 * stride;
  for (let t = 0; t < stride; t += 2) {
    let total = f64x2.splat(eps);
    for (let j = 0; j < N; j++) total = f64x2.add(total, dget(amp, j * step + t));
    dput(g, t, f64x2.div(dget(mag, t), total));
  }
  for (let j = 0; j < N; j++) {
    for (let t = 0; t < stride; t += 2) dput(amp, j * step + t, f64x2.mul(dget(amp, j * step + t), dget(g, t)));
  }
}

/** The residual's amplitude (row N of this channel): |x| − Σ_j amp_j. */
function residualRow(amp: usize, N: i32, mag: usize, stride: i32): void {
  const step = 2 * stride;
  for (let t = 0; t < stride; t += 2) {
    let r = dget(mag, t);
    for (let j = 0; j < N; j++) r = f64x2.sub(r, dget(amp, j * step + t));
    dput(amp, N * step + t, r);
  }
}

/** R_j (normalised by the summed PSD) into rj[0..3] = R00, R11, Re R01, Im R01; v_j into v; Cxx += v_j R_j. */
function covarianceRow(al: usize, ar: usize, wRe: usize, wIm: usize, v: usize, c00: usize, c11: usize, c01r: usize, c01i: usize,
  inv2: f64, eps: f64, rj: usize, stride: i32): void {
  let s00 = f64x2.splat(0), s11 = f64x2.splat(0), sre = f64x2.splat(0), sim = f64x2.splat(0);
  for (let t = 0; t < stride; t += 2) {
    const a = dget(al, t), b = dget(ar, t);
    s00 = f64x2.add(s00, f64x2.mul(a, a));
    s11 = f64x2.add(s11, f64x2.mul(b, b));
    const p = f64x2.mul(a, b);
    sre = f64x2.add(sre, f64x2.mul(p, dget(wRe, t)));
    sim = f64x2.add(sim, f64x2.mul(p, dget(wIm, t)));
  }
  const d00 = dsum(s00), d11 = dsum(s11);
  const norm = inv2 / (eps + 0.5 * (d00 + d11) * inv2);
  const r00 = d00 * norm, r11 = d11 * norm, rre = dsum(sre) * norm, rim = dsum(sim) * norm;
  store<f64>(rj, r00);
  store<f64>(rj, r11, 8);
  store<f64>(rj, rre, 16);
  store<f64>(rj, rim, 24);
  const h = f64x2.splat(0.5 * inv2);
  const k00 = f64x2.splat(r00), k11 = f64x2.splat(r11), kre = f64x2.splat(rre), kim = f64x2.splat(rim);
  for (let t = 0; t < stride; t += 2) {
    const a = dget(al, t), b = dget(ar, t);
    const vj = f64x2.mul(f64x2.add(f64x2.mul(a, a), f64x2.mul(b, b)), h);
    dput(v, t, vj);
    dput(c00, t, f64x2.add(dget(c00, t), f64x2.mul(vj, k00)));
    dput(c11, t, f64x2.add(dget(c11, t), f64x2.mul(vj, k11)));
    dput(c01r, t, f64x2.add(dget(c01r, t), f64x2.mul(vj, kre)));
    dput(c01i, t, f64x2.add(dget(c01i, t), f64x2.mul(vj, kim)));
  }
}

/** z = Cxx⁻¹ x · inv, zero where Cxx is singular or not finite. */
function solveRow(xlr: usize, xli: usize, xrr: usize, xri: usize, c00: usize, c11: usize, c01r: usize, c01i: usize,
  inv: f64, z0r: usize, z0i: usize, z1r: usize, z1i: usize, stride: i32): void {
  const invv = f64x2.splat(inv);
  const zero = f64x2.splat(0);
  const infinity = f64x2.splat(Infinity);
  for (let t = 0; t < stride; t += 2) {
    const a = dget(c00, t), b = dget(c11, t), cr = dget(c01r, t), ci = dget(c01i, t);
    const det = f64x2.sub(f64x2.mul(a, b), f64x2.add(f64x2.mul(cr, cr), f64x2.mul(ci, ci)));
    const ok = v128.and(f64x2.gt(det, zero), f64x2.lt(det, infinity));
    const k = f64x2.div(invv, det);
    const x0r = dget(xlr, t), x0i = dget(xli, t), x1r = dget(xrr, t), x1i = dget(xri, t);
    // z0 = (c11 x0 − c01 x1) k ; z1 = (c00 x1 − conj(c01) x0) k
    const p0r = f64x2.sub(f64x2.mul(b, x0r), f64x2.sub(f64x2.mul(cr, x1r), f64x2.mul(ci, x1i)));
    const p0i = f64x2.sub(f64x2.mul(b, x0i), f64x2.add(f64x2.mul(cr, x1i), f64x2.mul(ci, x1r)));
    const p1r = f64x2.sub(f64x2.mul(a, x1r), f64x2.add(f64x2.mul(cr, x0r), f64x2.mul(ci, x0i)));
    const p1i = f64x2.sub(f64x2.mul(a, x1i), f64x2.sub(f64x2.mul(cr, x0i), f64x2.mul(ci, x0r)));
    dput(z0r, t, v128.bitselect(f64x2.mul(p0r, k), zero, ok));
    dput(z0i, t, v128.bitselect(f64x2.mul(p0i, k), zero, ok));
    dput(z1r, t, v128.bitselect(f64x2.mul(p1r, k), zero, ok));
    dput(z1i, t, v128.bitselect(f64x2.mul(p1i, k), zero, ok));
  }
}

/** y_j = scale · v_j R_j z into the source's four float32 output rows (exactly `frames` values each), in one pass. */
function filterRow(v: usize, rj: usize, z0r: usize, z0i: usize, z1r: usize, z1i: usize, scale: f64,
  ylr: usize, yli: usize, yrr: usize, yri: usize, frames: i32): void {
  const r00 = load<f64>(rj), r11 = load<f64>(rj, 8), cr = load<f64>(rj, 16), ci = load<f64>(rj, 24);
  const a = f64x2.splat(r00), b = f64x2.splat(r11), kr = f64x2.splat(cr), ki = f64x2.splat(ci), s = f64x2.splat(scale);
  let t = 0;
  for (; t + 2 <= frames; t += 2) {
    const g = f64x2.mul(dget(v, t), s);
    const pr = dget(z0r, t), pi = dget(z0i, t), qr = dget(z1r, t), qi = dget(z1i, t);
    // y0 = g (R00 z0 + R01 z1) ; y1 = g (conj(R01) z0 + R11 z1)
    const y0r = f64x2.mul(g, f64x2.add(f64x2.mul(a, pr), f64x2.sub(f64x2.mul(kr, qr), f64x2.mul(ki, qi))));
    const y0i = f64x2.mul(g, f64x2.add(f64x2.mul(a, pi), f64x2.add(f64x2.mul(kr, qi), f64x2.mul(ki, qr))));
    const y1r = f64x2.mul(g, f64x2.add(f64x2.add(f64x2.mul(kr, pr), f64x2.mul(ki, pi)), f64x2.mul(b, qr)));
    const y1i = f64x2.mul(g, f64x2.add(f64x2.sub(f64x2.mul(kr, pi), f64x2.mul(ki, pr)), f64x2.mul(b, qi)));
    v128.store64_lane(f(ylr, t), f32x4.demote_f64x2_zero(y0r), 0);
    v128.store64_lane(f(yli, t), f32x4.demote_f64x2_zero(y0i), 0);
    v128.store64_lane(f(yrr, t), f32x4.demote_f64x2_zero(y1r), 0);
    v128.store64_lane(f(yri, t), f32x4.demote_f64x2_zero(y1i), 0);
  }
  for (; t < frames; t++) {
    const g = load<f64>(d(v, t)) * scale;
    const pr = load<f64>(d(z0r, t)), pi = load<f64>(d(z0i, t)), qr = load<f64>(d(z1r, t)), qi = load<f64>(d(z1i, t));
    put(ylr, t, <f32>(g * (r00 * pr + (cr * qr - ci * qi))));
    put(yli, t, <f32>(g * (r00 * pi + (cr * qi + ci * qr))));
    put(yrr, t, <f32>(g * ((cr * pr + ci * pi) + r11 * qr)));
    put(yri, t, <f32>(g * ((cr * pi - ci * pr) + r11 * qi)));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Separation controls (reference: ../../controls.ts): strength v_j ← Σv · (v_j / Σv)^s, then bleed
// m_j ← max(0, m_j − t) / (1 − t). The power is exp2(s · log2 m) with the series below (relative error ≈ 1e-7),
// ten times cheaper than a libm pow and vectorised four cells at a time.

const LN2: f32 = 0.6931471805599453;
const INV_LN2: f32 = 1.4426950408889634;
const SQRT2: f32 = 1.4142135623730951;

/** log2 x for normal positive x: x = 2^e · m with m in [√½, √2), ln m = 2 atanh((m − 1)/(m + 1)) by its series. */
@inline function log2x4(x: v128): v128 {
  const bits = x;
  let e = i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(127));
  let m = v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000));
  const big = f32x4.gt(m, f32x4.splat(SQRT2));
  m = v128.bitselect(f32x4.mul(m, f32x4.splat(0.5)), m, big);
  e = i32x4.sub(e, big); // a true lane is −1
  const y = f32x4.div(f32x4.sub(m, f32x4.splat(1)), f32x4.add(m, f32x4.splat(1)));
  const y2 = f32x4.mul(y, y);
  // 1 + y²/3 + y⁴/5 + y⁶/7 + y⁸/9 (|y| ≤ 0.172: the next term is below 1e-9)
  let p = f32x4.splat(<f32>(1.0 / 9));
  p = f32x4.add(f32x4.mul(p, y2), f32x4.splat(<f32>(1.0 / 7)));
  p = f32x4.add(f32x4.mul(p, y2), f32x4.splat(<f32>(1.0 / 5)));
  p = f32x4.add(f32x4.mul(p, y2), f32x4.splat(<f32>(1.0 / 3)));
  p = f32x4.add(f32x4.mul(p, y2), f32x4.splat(1));
  const lnm = f32x4.mul(f32x4.mul(y, p), f32x4.splat(2));
  return f32x4.add(f32x4.convert_i32x4_s(e), f32x4.mul(lnm, f32x4.splat(INV_LN2)));
}

/** 2^y for y ≥ −126 (callers keep y ≥ −60): 2^n · e^(r ln 2), n = round(y), |r| ≤ ½, e^z by its Taylor series to z⁷ (error < 1e-8). */
@inline function exp2x4(y: v128): v128 {
  const n = f32x4.nearest(y);
  const z = f32x4.mul(f32x4.sub(y, n), f32x4.splat(LN2));
  let p = f32x4.splat(<f32>(1.0 / 5040));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(1.0 / 720)));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(1.0 / 120)));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(1.0 / 24)));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(1.0 / 6)));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>0.5));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

/** Σ_j of the N estimates' values i..i+3. */
@inline function cellTotal(table: usize, N: i32, i: i32): v128 {
  let total = f32x4.splat(0);
  for (let j = 0; j < N; j++) total = f32x4.add(total, vget(entry(table, j), i));
  return total;
}

/**
 * Strength then bleed, in place, on N estimates of `count` floats each (pointers in `table`), with per-source
 * exponents and thresholds (float32 arrays of N). `count` is a multiple of 4 (the caller pads).
 */
export function applyControls(table: usize, N: i32, count: i32, exponents: usize, thresholds: usize): void {
  let anyStrength = false, anyBleed = false;
  for (let j = 0; j < N; j++) {
    if (get(exponents, j) != 1) anyStrength = true;
    if (get(thresholds, j) != 0) anyBleed = true;
  }
  const zero = f32x4.splat(0);
  const tiny = f32x4.splat(<f32>1.0e-37);
  for (let i = 0; i < count; i += 4) {
    if (anyStrength) {
      const total = cellTotal(table, N, i);
      const shared = f32x4.gt(total, zero);
      const invTotal = f32x4.div(f32x4.splat(1), total);
      for (let j = 0; j < N; j++) {
        const s = get(exponents, j);
        if (s == 1) continue;
        const p = entry(table, j);
        const v = vget(p, i);
        // pmax, not max: one instruction (max's NaN rules cost several), and NaN lanes are masked off below anyway.
        // Powers below 2^-60 of the cell are as good as 0 and keep exp2x4 clear of denormals, which are slow.
        const m = f32x4.pmax(f32x4.mul(v, invTotal), tiny);
        const powered = f32x4.mul(total, exp2x4(f32x4.pmax(f32x4.mul(f32x4.splat(s), log2x4(m)), f32x4.splat(-60))));
        // a zero estimate stays zero for any exponent; cells with nothing to share are left alone
        vput(p, i, v128.bitselect(powered, v, v128.and(shared, f32x4.gt(v, zero))));
      }
    }
    if (anyBleed) {
      const total = cellTotal(table, N, i); // after strength: bleed thresholds apply to the strengthened shares
      const shared = f32x4.gt(total, zero);
      const invTotal = f32x4.div(f32x4.splat(1), total);
      for (let j = 0; j < N; j++) {
        const th = get(thresholds, j);
        if (th == 0) continue;
        const p = entry(table, j);
        const v = vget(p, i);
        const m = f32x4.mul(v, invTotal);
        const kept = f32x4.mul(f32x4.mul(f32x4.sub(m, f32x4.splat(th)), f32x4.splat(1 / (1 - th))), total);
        const bled = v128.bitselect(kept, zero, f32x4.gt(m, f32x4.splat(th)));
        vput(p, i, v128.bitselect(bled, v, shared));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Sample formats. Both functions give exactly the values of their JavaScript references; they were the largest
// costs left on the job thread of a re-render (bench/rerender.bench.ts with --cpu-prof).

// The estimate cache's record checksum (../../../cache/checksum.ts is the JavaScript reference and the definition).
// Multiply-rotate rounds on 16 lanes of 32-bit words, 64 bytes per step, four independent vectors so the multiplies
// overlap: about 5x faster here than zlib's crc32, which was a tenth of a re-render's DSP time.
const P1: u32 = 0x9e3779b1;
const P2: u32 = 0x85ebca77;
const P3: u32 = 0xc2b2ae3d;
const P4: u32 = 0x27d4eb2f;
const P5: u32 = 0x165667b1;

@inline function checksumRound(acc: v128, x: v128): v128 {
  const a = i32x4.add(acc, i32x4.mul(x, i32x4.splat(P2)));
  return i32x4.mul(v128.or(i32x4.shl(a, 13), i32x4.shr_u(a, 19)), i32x4.splat(P1));
}

@inline function rotl32(x: u32, r: u32): u32 {
  return (x << r) | (x >>> (32 - r));
}

/** Folds one 32-bit word into the running hash (the lanes, then the tail's whole words). */
@inline function checksumWord(h: u32, w: u32): u32 {
  return rotl32(h + w * P3, 17) * P4;
}

/** The checksum of `n` bytes at `p`. */
export function checksum(p: usize, n: i32): u32 {
  let a0 = i32x4(P1, P2, P3, P4), a1 = i32x4(P2, P3, P4, P5), a2 = i32x4(P3, P4, P5, P1), a3 = i32x4(P4, P5, P1, P2);
  let i = 0;
  for (; i + 64 <= n; i += 64) {
    const q = p + <usize>i;
    a0 = checksumRound(a0, v128.load(q));
    a1 = checksumRound(a1, v128.load(q, 16));
    a2 = checksumRound(a2, v128.load(q, 32));
    a3 = checksumRound(a3, v128.load(q, 48));
  }
  let h = <u32>n * P5;
  for (let l = 0; l < 4; l++) h = checksumWord(h, lane(a0, l));
  for (let l = 0; l < 4; l++) h = checksumWord(h, lane(a1, l));
  for (let l = 0; l < 4; l++) h = checksumWord(h, lane(a2, l));
  for (let l = 0; l < 4; l++) h = checksumWord(h, lane(a3, l));
  for (; i + 4 <= n; i += 4) h = checksumWord(h, load<u32>(p + <usize>i));
  for (; i < n; i++) h = rotl32(h + <u32>load<u8>(p + <usize>i) * P5, 11) * P1;
  h ^= h >>> 15;
  h *= P2;
  h ^= h >>> 13;
  h *= P3;
  return h ^ (h >>> 16);
}

/** Lane l (0..3) of a vector of four u32s. */
@inline function lane(v: v128, l: i32): u32 {
  return l == 0 ? <u32>i32x4.extract_lane(v, 0) : l == 1 ? <u32>i32x4.extract_lane(v, 1) : l == 2 ? <u32>i32x4.extract_lane(v, 2) : <u32>i32x4.extract_lane(v, 3);
}

/**
 * The estimate cache's float24 (../../../cache/float24.ts decodeFloat24): `count` values of 3 bytes at `bytes`
 * (readable 16 bytes past the end) become float32 at `out`, four at a time by one byte shuffle.
 */
export function decodeFloat24(bytes: usize, count: i32, out: usize): void {
  // lane k of the result: a zero byte, then stored bytes 3k, 3k+1, 3k+2 (index 16 selects zero)
  const spread = i8x16(16, 0, 1, 2, 16, 3, 4, 5, 16, 6, 7, 8, 16, 9, 10, 11);
  let i = 0;
  for (; i + 4 <= count; i += 4) vput(out, i, i8x16.swizzle(v128.load(bytes + <usize>(3 * i)), spread));
  for (; i < count; i++) {
    const p = bytes + <usize>(3 * i);
    store<u32>(f(out, i), (<u32>load<u8>(p) | (<u32>load<u8>(p, 1) << 8) | (<u32>load<u8>(p, 2) << 16)) << 8);
  }
}

const DITHER_STEP: u32 = 0x6d2b79f5;

/** The mulberry32 output for generator state `s` (the state after its step). */
@inline function mulberry(s: u32): u32 {
  let t = (s ^ (s >>> 15)) * (s | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return t ^ (t >>> 14);
}

/** mulberry() on four states at once. */
@inline function mulberryx4(s: v128): v128 {
  let t = i32x4.mul(v128.xor(s, i32x4.shr_u(s, 15)), v128.or(s, i32x4.splat(1)));
  t = v128.xor(t, i32x4.add(t, i32x4.mul(v128.xor(t, i32x4.shr_u(t, 7)), v128.or(t, i32x4.splat(61)))));
  return v128.xor(t, i32x4.shr_u(t, 14));
}

/** The dither in 1/65536 steps from a mulberry32 output: its low 16 bits minus its high 16 bits (TPDF). */
@inline function ditherx4(t: v128): v128 {
  return i32x4.sub(v128.and(t, i32x4.splat(0xffff)), i32x4.shr_u(t, 16));
}

/** Clipped samples counted by the conversions since the last call of takeClipped(). */
let clippedCount: u32 = 0;

/**
 * One sample's code, exactly as the reference defines it: x · scale plus the dither d / 65536, rounded half up
 * (computed as floor((floor(x · scale · 65536) + d + 32768) / 65536), exact in float64 for every float32 x),
 * clipped to [min, max] (counted when |x| > 1), NaN → 0.
 */
@inline function exactCode(x: f64, d: i32, scale: f64, min: f64, max: f64): i32 {
  let q = Math.floor((Math.floor(x * scale * 65536) + <f64>(x != 0 ? d : 0) + 32768) / 65536);
  if (q > max) {
    q = max;
    if (x > 1) clippedCount++;
  } else if (q < min) {
    q = min;
    if (x < -1) clippedCount++;
  } else if (q != q) q = 0;
  return <i32>q;
}

/**
 * ../../../audio/pcm.ts toIntInterleaved() for one channel: samples at `src` (n float32s) to integers at
 * `out` + channel, every `channels`-th one, scaled by 2^(bits−1), with TPDF dither when `tpdf` (exactCode()).
 * The dither is the reference's: mulberry32 steps once per sample (dithered or not), its 16-bit halves are the two
 * uniforms. Its state only ever adds 0x6d2b79f5 per step, so step k's state is s + k · 0x6d2b79f5 and four
 * samples are done at once, in float64 (x · 2^39 for 24 bits does not fit 32-bit integers).
 * `state` holds the generator's u32 state (read and written) and then the running count of clipped samples.
 * `width`: bytes per integer written, 4 (int32) or 2 (int16, for 16-bit codes: what a 16-bit WAV stores).
 */
export function toIntChannel(src: usize, n: i32, out: usize, channel: i32, channels: i32, scale: f64, min: f64, max: f64,
  tpdf: bool, state: usize, width: i32): void {
  const K = DITHER_STEP;
  let s = load<u32>(state);
  clippedCount = load<u32>(state, 4);
  let states = i32x4.add(i32x4.splat(s), i32x4(K, 2 * K, 3 * K, 4 * K));
  const step = i32x4.splat(4 * K);
  const scaled = f64x2.splat(scale * 65536), inverse = f64x2.splat(1.0 / 65536), offset = f64x2.splat(32768);
  const maxV = f64x2.splat(max), minV = f64x2.splat(min), one = f64x2.splat(1), minusOne = f64x2.splat(-1), zero = f64x2.splat(0);
  const stride = <usize>(channels * width);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let d = i32x4.splat(0);
    if (tpdf) {
      d = ditherx4(mulberryx4(states));
      states = i32x4.add(states, step);
    }
    let ints = i32x4.splat(0);
    for (let h = 0; h < 2; h++) {
      const x = f64x2.promote_low_f32x4(v128.load64_zero(f(src, i + 2 * h)));
      const dh = h == 0 ? d : i8x16.shuffle(d, d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
      const dither = v128.and(f64x2.convert_low_i32x4_s(dh), f64x2.ne(x, zero));
      let q = f64x2.floor(f64x2.mul(f64x2.add(f64x2.add(f64x2.floor(f64x2.mul(x, scaled)), dither), offset), inverse));
      const over = f64x2.gt(q, maxV), under = f64x2.lt(q, minV);
      const clip = v128.or(v128.and(over, f64x2.gt(x, one)), v128.and(under, f64x2.lt(x, minusOne)));
      clippedCount += <u32>popcnt(i64x2.bitmask(clip));
      q = v128.bitselect(maxV, v128.bitselect(minV, q, under), over);
      const qi = i32x4.trunc_sat_f64x2_s_zero(q); // NaN → 0
      ints = h == 0 ? qi : i64x2.replace_lane(ints, 1, i64x2.extract_lane(qi, 0));
    }
    const o = out + <usize>(i * channels + channel) * <usize>width;
    if (width == 2) {
      store<i16>(o, <i16>i32x4.extract_lane(ints, 0));
      store<i16>(o + stride, <i16>i32x4.extract_lane(ints, 1));
      store<i16>(o + 2 * stride, <i16>i32x4.extract_lane(ints, 2));
      store<i16>(o + 3 * stride, <i16>i32x4.extract_lane(ints, 3));
    } else {
      store<i32>(o, i32x4.extract_lane(ints, 0));
      store<i32>(o + stride, i32x4.extract_lane(ints, 1));
      store<i32>(o + 2 * stride, i32x4.extract_lane(ints, 2));
      store<i32>(o + 3 * stride, i32x4.extract_lane(ints, 3));
    }
  }
  if (tpdf) s += <u32>i * K;
  for (; i < n; i++) {
    let d = 0;
    if (tpdf) {
      s += K;
      const t = mulberry(s);
      d = <i32>(t & 0xffff) - <i32>(t >>> 16);
    }
    const q = exactCode(<f64>get(src, i), d, scale, min, max);
    const o = out + <usize>(i * channels + channel) * <usize>width;
    if (width == 2) store<i16>(o, <i16>q);
    else store<i32>(o, q);
  }
  store<u32>(state, s);
  store<u32>(state, clippedCount, 4);
}

/** Frame i of toInt16Stereo() sample by sample with exactCode(): the left channel takes step i + 1, the right n + i + 1. */
function storeStereoFrame(left: usize, right: usize, n: i32, out: usize, i: i32, s: u32, tpdf: bool): void {
  for (let c = 0; c < 2; c++) {
    let d = 0;
    if (tpdf) {
      const t = mulberry(s + <u32>(c * n + i + 1) * DITHER_STEP);
      d = <i32>(t & 0xffff) - <i32>(t >>> 16);
    }
    store<i16>(out + <usize>(4 * i + 2 * c), <i16>exactCode(<f64>get(c == 0 ? left : right, i), d, 32768, -32768, 32767));
  }
}

/**
 * toIntChannel() for both channels of a stereo 16-bit stream at once, interleaved int16 at `out`: what every 16-bit
 * stereo WAV stem goes through, so it is the job thread's largest cost in a re-render. In 32-bit integers, four
 * samples per instruction: for |x| < 1, floor(x · 2^31) fits them exactly and the code is
 * (X >> 16) + (((X & 0xffff) + d + 32768) >> 16), the reference's formula split so nothing overflows; the int16
 * narrowing saturates exactly where the reference clips (without counting: |x| < 1). Quads holding |x| ≥ 1 or NaN
 * are redone sample by sample with exactCode(). The left channel takes generator steps 1..n, the right n+1..2n.
 */
export function toInt16Stereo(left: usize, right: usize, n: i32, out: usize, tpdf: bool, state: usize): void {
  const K = DITHER_STEP;
  const s = load<u32>(state);
  clippedCount = load<u32>(state, 4);
  let statesL = i32x4.add(i32x4.splat(s), i32x4(K, 2 * K, 3 * K, 4 * K));
  let statesR = i32x4.add(statesL, i32x4.splat(<u32>n * K));
  const step = i32x4.splat(4 * K);
  const two31 = f32x4.splat(2147483648.0), one = f32x4.splat(1), zero = f32x4.splat(0);
  const low16 = i32x4.splat(0xffff), half = i32x4.splat(32768);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const xl = vget(left, i), xr = vget(right, i);
    let dl = i32x4.splat(0), dr = i32x4.splat(0);
    if (tpdf) {
      dl = v128.and(ditherx4(mulberryx4(statesL)), f32x4.ne(xl, zero));
      dr = v128.and(ditherx4(mulberryx4(statesR)), f32x4.ne(xr, zero));
      statesL = i32x4.add(statesL, step);
      statesR = i32x4.add(statesR, step);
    }
    const Xl = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.mul(xl, two31)));
    const Xr = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.mul(xr, two31)));
    const ql = i32x4.add(i32x4.shr_s(Xl, 16), i32x4.shr_s(i32x4.add(i32x4.add(v128.and(Xl, low16), dl), half), 16));
    const qr = i32x4.add(i32x4.shr_s(Xr, 16), i32x4.shr_s(i32x4.add(i32x4.add(v128.and(Xr, low16), dr), half), 16));
    const o = out + (<usize>i << 2);
    v128.store(o, i8x16.shuffle(i16x8.narrow_i32x4_s(ql, qr), zero, 0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15));
    // not (|x| < 1): beyond full scale, or NaN
    if (v128.any_true(v128.not(v128.and(f32x4.lt(f32x4.abs(xl), one), f32x4.lt(f32x4.abs(xr), one))))) {
      for (let k = 0; k < 4; k++) storeStereoFrame(left, right, n, out, i + k, s, tpdf);
    }
  }
  for (; i < n; i++) storeStereoFrame(left, right, n, out, i, s, tpdf);
  store<u32>(state, tpdf ? s + <u32>(2 * n) * K : s);
  store<u32>(state, clippedCount, 4);
}

// ---------------------------------------------------------------------------------------------------------------
// Polyphase resampling (../../polyphase.ts designs the filter and keeps the stream's state). libsamplerate, which the
// engine used before, converted a stereo stream at about 30x real time on this project's test machine
// (bench/dsp.bench.ts), which made a 48 kHz song's four output stems cost more than its separation.

/**
 * `count` output samples of one channel. Output k sits at input position n + phase / L (n an input index, phase
 * in [0, L)) and is Σ_i x[n − H + 1 + i] · coef[phase · T + i] over T taps; the next output is M / L input samples
 * later. `buf` holds input samples from global index `bufStart` on, and must cover every tap used.
 */
export function resampleRun(buf: usize, bufStart: f64, n: f64, phase: i32, count: i32, coef: usize, T: i32, L: i32, M: i32,
  H: i32, out: usize): void {
  let at = <i32>(n - bufStart) - H + 1;
  for (let o = 0; o < count; o++) {
    const x = f(buf, at);
    const c = f(coef, phase * T);
    let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
    let i = 0;
    for (; i + 8 <= T; i += 8) {
      acc0 = f32x4.add(acc0, f32x4.mul(vget(x, i), vget(c, i)));
      acc1 = f32x4.add(acc1, f32x4.mul(vget(x, i + 4), vget(c, i + 4)));
    }
    for (; i < T; i += 4) acc0 = f32x4.add(acc0, f32x4.mul(vget(x, i), vget(c, i)));
    const acc = f32x4.add(acc0, acc1);
    put(out, o, f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    phase += M;
    const step = phase / L;
    at += step;
    phase -= step * L;
  }
}
