import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDspKernels, type DspKernels } from '../dsp/kernels/index.ts';
import { Mulberry32, mulberry32, toInt16Interleaved, toIntInterleaved } from './pcm.ts';

/**
 * The plain definition the fast paths must reproduce: x · 2^(bits−1) plus the TPDF dither, rounded half up in exact
 * arithmetic (BigInt), the dither from one PRNG value per sample (silent ones included), its low and high 16 bits
 * as the two uniform variables.
 */
function reference(
  planar: Float32Array[],
  bits: 16 | 24,
  dither: boolean,
  rand: () => number,
): { ints: Int32Array; clipped: number } {
  const scale = 2 ** (bits - 1);
  const ints = new Int32Array(planar.length * planar[0].length);
  let clipped = 0;
  planar.forEach((src, c) =>
    src.forEach((x, i) => {
      let d = 0;
      if (dither) {
        const u = rand() * 4294967296; // drawn for every sample, dithered or silent
        if (x !== 0) d = (u % 65536) - Math.floor(u / 65536);
      }
      let q = Number.isNaN(x) ? 0 : !Number.isFinite(x) ? Math.sign(x) * Infinity : exactRoundHalfUp(x, scale, d);
      if (q > scale - 1) {
        q = scale - 1;
        if (x > 1) clipped++;
      } else if (q < -scale) {
        q = -scale;
        if (x < -1) clipped++;
      }
      ints[i * planar.length + c] = q;
    }),
  );
  return { ints, clipped };
}

/** ⌊x · scale + d / 65536 + 1/2⌋ computed exactly: every float32 is an integer times 2^-149. */
function exactRoundHalfUp(x: number, scale: number, d: number): number {
  const unit = 2n ** 149n;
  const scaled = BigInt(x * 2 ** 149) * BigInt(scale) * 65536n + BigInt(d + 32768) * unit; // (x·scale + …)·65536·2^149
  const denominator = 65536n * unit;
  const q = scaled / denominator; // truncates toward zero
  return Number(scaled < 0n && q * denominator !== scaled ? q - 1n : q);
}

describe('toIntInterleaved', () => {
  const next = mulberry32(99);
  const n = 5000;
  const left = Float32Array.from({ length: n }, () => 2.4 * (next() - 0.5));
  const right = Float32Array.from({ length: n }, () => (next() - 0.5) / 1000);
  // Exact half steps (ties), silence, full scale and beyond, and non-finite values.
  const edges = [0, 0.5 / 32768, -0.5 / 32768, 1.5 / 32768, -2.5 / 32768, NaN, Infinity, -Infinity, 1, -1, 1.0001];
  edges.forEach((x, i) => {
    left[i] = x;
    right[n - 1 - i] = x;
  });

  test('rounds the exact dithered value, also for samples far below the dither', () => {
    // Find a sample whose dither is exactly +1/2: a sample just below zero must then round to 0. Adding the two in
    // float64 first (the definition before) rounded -2^-69 · 32768 + 1/2 up to 1/2, and that to 1.
    const g = mulberry32(5);
    let at = -1;
    for (let i = 0; i < 4_000_000 && at < 0; i++) {
      const u = g() * 4294967296;
      if ((u % 65536) - Math.floor(u / 65536) === 32768) at = i;
    }
    assert.ok(at >= 0, 'no dither of exactly 1/2 in 4M steps');
    const x = new Float32Array(at + 1);
    x[at] = -(2 ** -69);
    assert.equal(Math.fround(x[at]), -(2 ** -69));
    assert.equal(toIntInterleaved([x], 16, 'tpdf', new Mulberry32(5)).ints[at], 0);
    assert.equal(reference([x], 16, true, mulberry32(5)).ints[at], 0);
  });

  let kernels: DspKernels | undefined;
  before(async () => {
    kernels = await loadDspKernels();
  });

  for (const on of ['JavaScript', 'DSP kernels'] as const) {
    for (const bits of [16, 24] as const) {
      for (const dither of [true, false]) {
        test(`gives exactly the rounded sum and the PRNG's values, ${bits}-bit, ${dither ? 'TPDF dither' : 'no dither'}, on ${on}`, () => {
          const given = on === 'JavaScript' ? undefined : kernels;
          const fast = new Mulberry32(5);
          const got = toIntInterleaved([left, right], bits, dither ? 'tpdf' : 'none', fast, given);
          const ref = reference([left, right], bits, dither, mulberry32(5));
          assert.deepEqual(got.ints, ref.ints);
          assert.equal(got.clipped, ref.clipped);
          // The generator carries on where the reference's would, so the next block continues the same sequence.
          const after = mulberry32(5);
          if (dither) for (let i = 0; i < 2 * n; i++) after();
          assert.equal(fast.next(), dither ? after() : mulberry32(5)());
          if (bits === 16) {
            const codes = toInt16Interleaved([left, right], dither ? 'tpdf' : 'none', new Mulberry32(5), given);
            assert.deepEqual(codes.samples, Int16Array.from(ref.ints));
            assert.equal(codes.clipped, ref.clipped);
          }
        });
      }
    }
  }

  test('runs on the kernels it is given, and only then', (t) => {
    const k = kernels!;
    const wide = t.mock.method(k, 'toIntInterleaved');
    const narrow = t.mock.method(k, 'toInt16Interleaved');
    toIntInterleaved([left], 24, 'none', new Mulberry32(1));
    toInt16Interleaved([left], 'tpdf', new Mulberry32(1));
    assert.equal(wide.mock.callCount() + narrow.mock.callCount(), 0);
    toIntInterleaved([left], 24, 'none', new Mulberry32(1), k);
    toInt16Interleaved([left], 'tpdf', new Mulberry32(1), k);
    assert.equal(wide.mock.callCount(), 1);
    assert.equal(narrow.mock.callCount(), 1);
  });
});
