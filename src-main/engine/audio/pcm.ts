// Float ↔ integer sample conversion shared by the writers. The scale is 2^(bits-1) both ways (as in
// wav-reader.ts), so a value k / 2^(bits-1) survives a write and a read bit-exactly; +1.0 clips to the
// largest code. TPDF dither (two uniform variables, ±1 LSB peak; the two 16-bit halves of one mulberry32 output, so
// one generator step per sample) decorrelates the 16-bit rounding error from
// the music; it is skipped on exact digital silence so silent stems stay silent.
// toIntInterleaved runs on the WebAssembly kernels when the caller passes them (the engine worker's stem writers
// do): the same integers several times faster; without them on the JavaScript reference.
import type { DspKernels } from '../dsp/kernels/index.ts';
import type { Dither, Mulberry32 } from './dither.ts';

export { Mulberry32, mulberry32, type Dither } from './dither.ts';

/**
 * Interleaves `planar` into integers of `bits` bits (16 or 24), clipped to the code range.
 * Returns the values in an Int32Array [frame0 ch0, frame0 ch1, …] and how many samples clipped.
 * Each code is x · 2^(bits−1) plus the dither, rounded half up exactly (Math.round of the exact sum), with the
 * dither defined on Mulberry32.next() (pcm.test.ts holds both paths to that definition). `kernels` (the calling
 * thread's) do the work when given; without them toIntInterleavedReference, the same in JavaScript.
 */
export function toIntInterleaved(
  planar: Float32Array[],
  bits: 16 | 24,
  dither: Dither,
  rand: Mulberry32,
  kernels?: DspKernels,
): { ints: Int32Array; clipped: number } {
  return kernels
    ? kernels.toIntInterleaved(planar, bits, dither, rand)
    : toIntInterleavedReference(planar, bits, dither, rand);
}

/** toIntInterleaved(planar, 16, …) as int16 codes, ready to be a 16-bit WAV's data. */
export function toInt16Interleaved(
  planar: Float32Array[],
  dither: Dither,
  rand: Mulberry32,
  kernels?: DspKernels,
): { samples: Int16Array; clipped: number } {
  if (kernels) return kernels.toInt16Interleaved(planar, dither, rand);
  const { ints, clipped } = toIntInterleavedReference(planar, 16, dither, rand);
  return { samples: Int16Array.from(ints), clipped };
}

/** toIntInterleaved in JavaScript: the specification the kernel matches exactly, and the path of threads without it. */
export function toIntInterleavedReference(
  planar: Float32Array[],
  bits: 16 | 24,
  dither: Dither,
  rand: Mulberry32,
): { ints: Int32Array; clipped: number } {
  const ch = planar.length;
  const n = planar[0]?.length ?? 0;
  const scale = 2 ** (bits - 1);
  const max = scale - 1;
  const min = -scale;
  const ints = new Int32Array(n * ch);
  const tpdf = dither === 'tpdf';
  let s = rand.state;
  let clipped = 0;
  for (let c = 0; c < ch; c++) {
    const src = planar[c];
    for (let i = 0, j = c; i < n; i++, j += ch) {
      const x = src[i];
      let d = 0;
      if (tpdf) {
        // One mulberry32 step per sample, used or not (so sample k always gets step k); its low and high 16 bits
        // are the two uniform variables: the dither is (u1 - u2) / 65536. Digital silence gets none, so it stays silent.
        s = (s + 0x6d2b79f5) >>> 0;
        let t = Math.imul(s ^ (s >>> 15), s | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        t = (t ^ (t >>> 14)) >>> 0;
        if (x !== 0) d = (t & 0xffff) - (t >>> 16);
      }
      // x · scale + d / 65536 rounded half up, exactly: x · scale · 65536 is exact in float64 (x is a float32), and
      // floor((floor(y) + m) / 65536) = floor((y + m) / 65536) for an integer m, so every step is exact. (Adding the
      // dither to x · scale in float64 and rounding that is not, for |x| below about 2^-68.)
      let q = Math.floor((Math.floor(x * scale * 65536) + d + 32768) / 65536);
      if (q > max) {
        q = max;
        if (x > 1) clipped++;
      } else if (q < min) {
        q = min;
        if (x < -1) clipped++;
      } else if (q !== q) q = 0; // NaN
      ints[j] = q;
    }
  }
  rand.state = s;
  return { ints, clipped };
}

/** Interleaves `planar` as float32 values, clipping nothing (float WAV keeps overs), NaN/∞ → 0. */
export function toFloatInterleaved(planar: Float32Array[]): Float32Array {
  const ch = planar.length;
  const n = planar[0]?.length ?? 0;
  const out = new Float32Array(n * ch);
  for (let c = 0; c < ch; c++) {
    const src = planar[c];
    for (let i = 0, j = c; i < n; i++, j += ch) {
      const x = src[i];
      out[j] = Number.isFinite(x) ? x : 0;
    }
  }
  return out;
}
