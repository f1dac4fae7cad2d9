// Float ↔ integer sample conversion shared by the writers. The scale is 2^(bits-1) both ways (as in
// wav-reader.ts), so a value k / 2^(bits-1) survives a write and a read bit-exactly; +1.0 clips to the
// largest code. TPDF dither (two uniform variables, ±1 LSB peak) decorrelates the 16-bit rounding error from
// the music; it is skipped on exact digital silence so silent stems stay silent.

export type Dither = 'tpdf' | 'none';

/** A small seeded PRNG (mulberry32): dither must not depend on Math.random to keep tests repeatable. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Interleaves `planar` into integers of `bits` bits (16 or 24), clipped to the code range.
 * Returns the values in an Int32Array [frame0 ch0, frame0 ch1, …] and how many samples clipped.
 */
export function toIntInterleaved(planar: Float32Array[], bits: 16 | 24, dither: Dither, rand: () => number): { ints: Int32Array; clipped: number } {
  const ch = planar.length;
  const n = planar[0]?.length ?? 0;
  const scale = 2 ** (bits - 1);
  const max = scale - 1;
  const min = -scale;
  const ints = new Int32Array(n * ch);
  let clipped = 0;
  for (let c = 0; c < ch; c++) {
    const src = planar[c];
    for (let i = 0, j = c; i < n; i++, j += ch) {
      const x = src[i];
      let v = x * scale;
      if (dither === 'tpdf' && x !== 0) v += rand() - rand();
      let q = Math.round(v);
      if (q > max) { q = max; if (x > 1) clipped++; }
      else if (q < min) { q = min; if (x < -1) clipped++; }
      else if (q !== q) q = 0; // NaN
      ints[j] = q;
    }
  }
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
