import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { XumxError } from '../../errors.ts';
import { Mulberry32, toIntInterleavedReference } from '../../audio/pcm.ts';
import { decodeFloat24, quantizeFloat24 } from '../../cache/float24.ts';
import { applyControls } from '../controls.ts';
import { istft, magnitude, stft, type Spectrogram } from '../stft.ts';
import { wiener, type StereoSpectrogram } from '../wiener.ts';
import type { SeparationControls } from '../../types.ts';
import { kernelBytes, loadDspKernels, type DspKernels } from './index.ts';
import { KERNEL_SOURCE, KERNEL_WASM } from './build.ts';

let k: DspKernels;
before(async () => {
  k = await loadDspKernels();
});

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

function noise(length: number, seed: number): Float32Array {
  const r = random(seed);
  return Float32Array.from({ length }, () => r() - 0.5);
}

/** Largest |a − b| relative to the largest |a|. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0,
    m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return m > 0 ? d / m : d;
}

describe('DSP kernels: STFT and ISTFT', () => {
  for (const [length, nFft, hop] of [
    [40_000, 4096, 1024],
    [4096 * 3 + 17, 4096, 1024],
    [1500, 4096, 1024],
    [20_000, 2048, 512],
    [9_999, 1024, 256],
  ]) {
    test(`match the reference for ${length} samples, nFft ${nFft}, hop ${hop}`, () => {
      const x = noise(length, length);
      const a = stft(x, { nFft, hop });
      const b = k.stft(x, { nFft, hop });
      assert.deepEqual([b.bins, b.frames], [a.bins, a.frames]);
      assert.ok(
        relDiff(a.re, b.re) < 1e-5 && relDiff(a.im, b.im) < 1e-5,
        `STFT differs by ${relDiff(a.re, b.re)}, ${relDiff(a.im, b.im)}`,
      );
      assert.ok(relDiff(istft(a, length, { nFft, hop }), k.istft(a, length, { nFft, hop })) < 1e-5);
      assert.ok(relDiff(x, k.istft(b, length, { nFft, hop })) < 1e-5, 'the round trip gives the signal back');
    });
  }

  test('sizes PFFFT cannot do fall back to the reference instead of failing', () => {
    const x = noise(300, 3);
    const a = stft(x, { nFft: 16, hop: 4 });
    const b = k.stft(x, { nFft: 16, hop: 4 });
    assert.deepEqual(Array.from(b.re), Array.from(a.re));
    assert.deepEqual(
      Array.from(k.istft(b, 300, { nFft: 16, hop: 4 })),
      Array.from(istft(a, 300, { nFft: 16, hop: 4 })),
    );
  });
});

/** A stereo mixture's STFT (4096/1024) and four made-up source magnitudes that do not sum to it. */
function scene(
  left: Float32Array,
  right: Float32Array,
  seed: number,
): { mix: [Spectrogram, Spectrogram]; estimates: Float32Array[] } {
  const mix: [Spectrogram, Spectrogram] = [stft(left), stft(right)];
  const plane = mix[0].bins * mix[0].frames;
  const mags = [magnitude(mix[0]), magnitude(mix[1])];
  const r = random(seed);
  const estimates = [0, 1, 2, 3].map(() => {
    const e = new Float32Array(2 * plane);
    for (let c = 0; c < 2; c++) for (let i = 0; i < plane; i++) e[c * plane + i] = mags[c][i] * r() * 0.7;
    return e;
  });
  return { mix, estimates };
}

function kernelWiener(
  estimates: Float32Array[],
  mix: [Spectrogram, Spectrogram],
  opts: { iterations: number; softmask: boolean; residual: boolean },
): StereoSpectrogram[] {
  const J = estimates.length + (opts.residual ? 1 : 0);
  const heap = k.chunkViews(estimates.length, J, mix[0].bins, mix[0].frames, 1024);
  estimates.forEach((e, j) => heap.estimates[j].set(e));
  mix.forEach((x, c) => {
    heap.mix[c].re.set(x.re);
    heap.mix[c].im.set(x.im);
  });
  // copies, so that the next chunkViews() cannot change what the caller compares
  return k
    .wiener(heap.estimates, heap.mix, opts, heap.filtered)
    .map((s) => s.map((c) => ({ ...c, re: c.re.slice(), im: c.im.slice() })) as StereoSpectrogram);
}

/** Every source within `tolerance` of the largest value of any source (a near-silent source is judged on that scale). */
function compareSources(a: StereoSpectrogram[], b: StereoSpectrogram[], tolerance: number): void {
  assert.equal(a.length, b.length);
  let peak = 0;
  for (const s of a)
    for (const c of s) for (const x of [c.re, c.im]) for (const v of x) peak = Math.max(peak, Math.abs(v));
  a.forEach((s, j) =>
    s.forEach((c, ch) => {
      let d = 0;
      for (let i = 0; i < c.re.length; i++) d = Math.max(d, Math.abs(c.re[i] - b[j][ch].re[i]));
      for (let i = 0; i < c.im.length; i++) d = Math.max(d, Math.abs(c.im[i] - b[j][ch].im[i]));
      assert.ok(d <= tolerance * peak, `source ${j} channel ${ch} differs by ${d / peak} of the peak`);
    }),
  );
}

describe('DSP kernels: Wiener filter', () => {
  const length = 30 * 1024;
  for (const opts of [
    { iterations: 1, softmask: false, residual: false },
    { iterations: 1, softmask: true, residual: true },
    { iterations: 3, softmask: false, residual: true },
  ]) {
    test(`matches the reference on a stereo mixture: ${JSON.stringify(opts)}`, () => {
      const left = noise(length, 1);
      const right = Float32Array.from(noise(length, 2), (v, i) => 0.5 * v + 0.5 * left[i]);
      const { mix, estimates } = scene(left, right, 7);
      compareSources(wiener(estimates, mix, opts), kernelWiener(estimates, mix, opts), 2e-5);
    });
  }

  // A mono song played as stereo: Cxx is singular up to its regularisation, where float32 c00·c11 − |c01|² would
  // be pure rounding noise. The kernel's sum-of-non-negative-terms determinant must still match float64.
  test('matches the reference on a mono mixture, where the covariance is singular but for its regularisation', () => {
    const mono = noise(length, 5);
    const { mix, estimates } = scene(mono, mono, 9);
    for (let j = 0; j < estimates.length; j++) {
      const plane = estimates[j].length / 2;
      estimates[j].copyWithin(plane, 0, plane); // the same estimate on both channels, as a network gives for mono
    }
    compareSources(
      wiener(estimates, mix, { iterations: 1, softmask: false, residual: false }),
      kernelWiener(estimates, mix, { iterations: 1, softmask: false, residual: false }),
      2e-5,
    );
  });

  test('silent cells and silent sources give zeros, never NaN', () => {
    const left = noise(length, 11);
    left.fill(0, 0, 8 * 1024);
    const right = left.slice();
    const { mix, estimates } = scene(left, right, 13);
    estimates[2].fill(0);
    const out = kernelWiener(estimates, mix, { iterations: 1, softmask: true, residual: true });
    for (const s of out) for (const c of s) for (const a of [c.re, c.im]) assert.ok(a.every(Number.isFinite));
    assert.ok(out[2].every((c) => c.re.every((v) => v === 0) && c.im.every((v) => v === 0)));
    compareSources(wiener(estimates, mix, { iterations: 1, softmask: true, residual: true }), out, 2e-5);
  });
});

describe('DSP kernels: separation controls', () => {
  const controlsCases: Pick<SeparationControls, 'strength' | 'bleed'>[] = [
    { strength: { vocals: 1.5, drums: 0.8 } },
    { strength: { vocals: 4, bass: 0.25 }, bleed: { other: 0.9 } },
    { bleed: { vocals: 0.2, drums: 0.5 } },
  ];
  for (const controls of controlsCases) {
    // Judged against the cell's total (the estimates' sum), the scale of the masks: where a mask sits just above a
    // bleed threshold, m − t loses digits in float32 relative to itself but not relative to the cell.
    test(`strength and bleed match the reference within 1e-5 of the cell: ${JSON.stringify(controls)}`, () => {
      const sources = ['vocals', 'drums', 'bass', 'other'];
      const n = 2 * 2049 * 9; // not a multiple of 4: the kernel's padding must not leak into the result
      const r = random(21);
      const estimates = sources.map((_, j) =>
        Float32Array.from({ length: n }, (_, i) => (i % 97 === j ? 0 : r() ** 3 * 10)),
      );
      estimates.forEach((e) => e.fill(0, 100, 140)); // cells with nothing to share
      const expected = estimates.map((e) => e.slice());
      applyControls(expected, sources, controls);
      const heap = k.chunkViews(4, 4, 2049, 9, 1024);
      estimates.forEach((e, j) => heap.estimates[j].set(e));
      k.applyControls(
        heap.estimates,
        sources.map((s) => controls.strength?.[s] ?? 1),
        sources.map((s) => controls.bleed?.[s] ?? 0),
      );
      for (let i = 0; i < n; i++) {
        const total = estimates.reduce((sum, e) => sum + e[i], 0);
        for (let j = 0; j < 4; j++) {
          const got = heap.estimates[j][i],
            want = expected[j][i];
          assert.ok(
            Math.abs(got - want) <= 1e-5 * total,
            `source ${j} cell ${i}: ${got} vs ${want} (cell total ${total})`,
          );
        }
      }
    });
  }
});

describe('DSP kernels: sample formats', () => {
  test('float24 decoding gives exactly the reference values, tail included', () => {
    const values = Float32Array.from(
      { length: 1003 },
      (_, i) => (i % 7 === 0 ? -1 : 1) * Math.exp((i % 200) - 100) * (1 + i / 977),
    );
    values[5] = 0;
    values[6] = -0;
    values[7] = Infinity;
    const bytes = new Uint8Array(3 * values.length);
    quantizeFloat24(values.slice(), bytes);
    const expected = decodeFloat24(bytes, new Float32Array(values.length));
    const got = k.decodeFloat24(bytes, new Float32Array(values.length));
    assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(expected.buffer));
  });

  test('integer conversion rounds the exact dithered value of tiny samples like the reference', () => {
    // Samples at -2^-69 wherever the dither is exactly +1/2 (steps 1..n are the left channel's, n+1..2n the right's).
    const n = 600_000;
    const g = new Mulberry32(7);
    const planar = [new Float32Array(n), new Float32Array(n)];
    let found = 0;
    for (let i = 0; i < 2 * n; i++) {
      const t = g.next() * 4294967296;
      if ((t % 65536) - Math.floor(t / 65536) !== 32768) continue;
      planar[i < n ? 0 : 1][i % n] = -(2 ** -69);
      found++;
    }
    assert.ok(found > 0);
    const expected = toIntInterleavedReference(planar, 16, 'tpdf', new Mulberry32(7));
    assert.ok(expected.ints.every((q) => q === 0)); // -2^-69 · 32768 + 1/2 rounds half up to 0, not 1
    assert.deepEqual(
      Array.from(k.toInt16Interleaved(planar, 'tpdf', new Mulberry32(7)).samples),
      Array.from(expected.ints),
    );
    assert.deepEqual(k.toIntInterleaved(planar, 16, 'tpdf', new Mulberry32(7)).ints, expected.ints);
  });

  for (const [bits, dither] of [
    [16, 'tpdf'],
    [16, 'none'],
    [24, 'none'],
  ] as const) {
    test(`integer conversion (${bits} bit, dither ${dither}) gives exactly the reference's integers, clip count and generator state`, () => {
      const r = random(bits);
      const planar = [0, 1].map(() =>
        Float32Array.from({ length: 4099 }, (_, i) => (i % 50 === 0 ? 0 : (r() - 0.5) * 2.3)),
      );
      planar[0][10] = NaN;
      planar[1][11] = 1;
      planar[1][12] = -1;
      const a = new Mulberry32(99),
        b = new Mulberry32(99);
      const expected = toIntInterleavedReference(planar, bits, dither, a);
      const got = k.toIntInterleaved(planar, bits, dither, b);
      assert.deepEqual(got.ints, expected.ints);
      assert.equal(got.clipped, expected.clipped);
      assert.ok(expected.clipped > 0);
      assert.equal(b.state, a.state);
      if (bits === 16) {
        const c = new Mulberry32(99);
        const codes = k.toInt16Interleaved(planar, dither, c);
        assert.deepEqual(Array.from(codes.samples), Array.from(expected.ints));
        assert.equal(codes.clipped, expected.clipped);
        assert.equal(c.state, a.state);
      }
    });
  }
});

describe('DSP kernels: the build the engine loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xumx-kernels-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const where = (wasm: string) => ({ source: KERNEL_SOURCE, wasm, bundled: join(dir, 'none.wasm') });

  test('refuses a missing build and names the command that makes it, instead of compiling at run time', () => {
    const wasm = join(dir, 'missing.wasm');
    assert.throws(
      () => kernelBytes(where(wasm)),
      (e: XumxError) =>
        e.code === 'INTERNAL' &&
        e.message.includes(wasm) &&
        e.message.includes('missing') &&
        e.message.includes('npm run build:kernels'),
    );
    assert.equal(existsSync(wasm), false);
  });

  test('refuses a build older than its source', () => {
    const wasm = join(dir, 'stale.wasm');
    copyFileSync(KERNEL_WASM, wasm);
    writeFileSync(`${wasm}.sha256`, 'a hash of some earlier source');
    assert.throws(
      () => kernelBytes(where(wasm)),
      (e: XumxError) => e.code === 'INTERNAL' && e.message.includes('older than its source'),
    );
  });

  test('loads a build made from the current source', () => {
    const wasm = join(dir, 'fresh.wasm');
    copyFileSync(KERNEL_WASM, wasm);
    copyFileSync(`${KERNEL_WASM}.sha256`, `${wasm}.sha256`);
    assert.ok(Buffer.from(kernelBytes(where(wasm))).equals(readFileSync(KERNEL_WASM)));
  });

  test('a packaged app (no source beside it) loads the copy beside its bundles', () => {
    const bundled = join(dir, 'bundled.wasm');
    copyFileSync(KERNEL_WASM, bundled);
    assert.ok(
      Buffer.from(kernelBytes({ source: join(dir, 'no-source.ts'), wasm: join(dir, 'nothing.wasm'), bundled })).equals(
        readFileSync(KERNEL_WASM),
      ),
    );
  });
});
