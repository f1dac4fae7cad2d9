import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Mulberry32, mulberry32, toIntInterleaved } from './pcm.ts';

/**
 * The plain definition the fast loop must reproduce: Math.round, and TPDF dither from one PRNG value per sample
 * (silent ones included), its low and high 16 bits as the two uniform variables.
 */
function reference(planar: Float32Array[], bits: 16 | 24, dither: boolean, rand: () => number): { ints: Int32Array; clipped: number } {
  const scale = 2 ** (bits - 1);
  const ints = new Int32Array(planar.length * planar[0].length);
  let clipped = 0;
  planar.forEach((src, c) => src.forEach((x, i) => {
    let v = x * scale;
    if (dither) {
      const u = rand() * 4294967296; // drawn for every sample, dithered or silent
      if (x !== 0) v += ((u % 65536) - Math.floor(u / 65536)) / 65536;
    }
    let q = Math.round(v);
    if (q > scale - 1) { q = scale - 1; if (x > 1) clipped++; } else if (q < -scale) { q = -scale; if (x < -1) clipped++; } else if (q !== q) q = 0;
    ints[i * planar.length + c] = q;
  }));
  return { ints, clipped };
}

describe('toIntInterleaved', () => {
  const next = mulberry32(99);
  const n = 5000;
  const left = Float32Array.from({ length: n }, () => 2.4 * (next() - 0.5));
  const right = Float32Array.from({ length: n }, () => (next() - 0.5) / 1000);
  // Exact half steps (ties), silence, full scale and beyond, and non-finite values.
  const edges = [0, 0.5 / 32768, -0.5 / 32768, 1.5 / 32768, -2.5 / 32768, NaN, Infinity, -Infinity, 1, -1, 1.0001];
  edges.forEach((x, i) => { left[i] = x; right[n - 1 - i] = x; });

  for (const bits of [16, 24] as const) {
    for (const dither of [true, false]) {
      test(`gives exactly Math.round and the PRNG's values, ${bits}-bit, ${dither ? 'TPDF dither' : 'no dither'}`, () => {
        const fast = new Mulberry32(5);
        const got = toIntInterleaved([left, right], bits, dither ? 'tpdf' : 'none', fast);
        const ref = reference([left, right], bits, dither, mulberry32(5));
        assert.deepEqual(got.ints, ref.ints);
        assert.equal(got.clipped, ref.clipped);
        // The generator carries on where the reference's would, so the next block continues the same sequence.
        const after = mulberry32(5);
        if (dither) for (let i = 0; i < 2 * n; i++) after();
        assert.equal(fast.next(), dither ? after() : mulberry32(5)());
      });
    }
  }
});
