import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { quantizeFloat24 } from '../cache/float24.ts';
import { loadDspKernels, type DspKernels } from '../dsp/kernels/index.ts';
import { magnitude, stft, type Spectrogram } from '../dsp/stft.ts';
import type { SeparationControls } from '../types.ts';
import { renderChunk, renderChunkReference, type EstimatesChunk } from './chunk-render.ts';

const LENGTH = 40 * 1024;

function chunk(): Float32Array[] {
  return [0, 1].map((c) =>
    Float32Array.from({ length: LENGTH }, (_, i) => 0.3 * Math.sin(i * (0.013 + 0.004 * c)) + 0.1 * Math.sin(i * 0.21)),
  );
}

/** A fixed, deliberately imperfect split of the mixture magnitude between four sources. */
function task(samples: Float32Array[] | undefined, residual: boolean): EstimatesChunk {
  const x = chunk();
  const mix = [stft(x[0]), stft(x[1])] as [Spectrogram, Spectrogram];
  const plane = mix[0].bins * mix[0].frames;
  const mag = new Float32Array(2 * plane);
  magnitude(mix[0], mag.subarray(0, plane));
  magnitude(mix[1], mag.subarray(plane));
  const estimates = [0.5, 0.3, 0.15, 0.2].map((g, j) =>
    mag.map((v, i) => v * g * (1 + 0.5 * Math.sin(i * 0.001 * (j + 1)))),
  );
  return {
    kind: 'estimates',
    estimates,
    mix,
    sources: ['bass', 'drums', 'vocals', 'other'],
    chunkLength: LENGTH,
    ...(samples ? { samples } : {}),
    controls: { wienerIterations: 1, softmask: false, residual },
  };
}

function maxDiff(a: Float32Array[][], b: Float32Array[][]): number {
  let m = 0;
  a.forEach((stem, s) =>
    stem.forEach((ch, c) =>
      ch.forEach((v, i) => {
        m = Math.max(m, Math.abs(v - b[s][c][i]));
      }),
    ),
  );
  return m;
}

describe('renderChunk', () => {
  let k: DspKernels;
  before(async () => {
    k = await loadDspKernels();
  });

  const cases: SeparationControls[] = [
    { wienerIterations: 1, softmask: false, residual: false },
    {
      wienerIterations: 1,
      softmask: false,
      residual: true,
      strength: { vocals: 1.6, bass: 0.6 },
      bleed: { drums: 0.3 },
    },
    { wienerIterations: 2, softmask: true, residual: false, strength: { other: 2.5 } },
    { wienerIterations: 0, softmask: false, residual: false, bleed: { vocals: 0.5 } },
  ];
  for (const controls of cases) {
    test(`on the kernels equals the JavaScript reference steps to float32 rounding: ${JSON.stringify(controls)}`, () => {
      const t = () => ({ ...task(chunk(), controls.residual), controls });
      const fast = renderChunk(k, t());
      const reference = renderChunkReference(t());
      assert.equal(fast.length, reference.length);
      const peak = Math.max(...reference.flat().map((ch) => ch.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
      const diff = maxDiff(reference, fast);
      assert.ok(peak > 0.01 && diff < 1e-5 * Math.max(1, peak), `differs by ${diff} (peak ${peak})`);
    });
  }

  test("a chunk given as the cache's float24 record renders exactly as its decoded estimates do", () => {
    const t = task(chunk(), false);
    const stored = t.estimates.map((e) => e.length * 3);
    const record = new Uint8Array(stored.reduce((a, b) => a + b, 0));
    // e is rounded in place.
    t.estimates.forEach((e, j) => quantizeFloat24(e, record.subarray(3 * j * e.length, 3 * (j + 1) * e.length)));
    const fromFloats = renderChunk(k, { ...t, estimates: t.estimates.map((e) => e.slice()) });
    const { estimates: _, ...rest } = t;
    const fromRecord = renderChunk(k, { ...rest, kind: 'float24', float24: record });
    assert.equal(maxDiff(fromFloats, fromRecord), 0);
    assert.ok(maxDiff(renderChunkReference({ ...rest, kind: 'float24', float24: record }), fromRecord) < 1e-5);
  });

  test('a chunk sent without its mixture STFT computes it from its samples, with the same result', () => {
    const controls: SeparationControls = {
      wienerIterations: 1,
      softmask: false,
      residual: false,
      strength: { vocals: 1.5 },
    };
    const t = () => ({ ...task(chunk(), false), controls });
    const x = chunk();
    const given = renderChunk(k, { ...t(), mix: [k.stft(x[0]), k.stft(x[1])] });
    const times = { stft: 0, wiener: 0, istft: 0 };
    const computed = renderChunk(k, { ...t(), mix: undefined }, times);
    assert.equal(maxDiff(given, computed), 0);
    assert.ok(times.stft > 0 && times.wiener > 0 && times.istft > 0);
    const reference = renderChunkReference({ ...t(), mix: undefined });
    assert.ok(maxDiff(reference, computed) < 1e-5, `differs by ${maxDiff(reference, computed)}`);
    assert.throws(() => renderChunk(k, { ...t(), mix: undefined, samples: undefined }), /needs its .* samples/);
  });

  for (const residual of [false, true]) {
    // "other" + leftover is a partition by construction, so subtraction reproduces it; the filter's own residual
    // source is not (the EM's regularisation leaves a little over), so there only the four sources must agree.
    test(`gets the ${residual ? 'residual' : '"other"'} stem by subtraction, so the stems sum to the chunk exactly`, () => {
      const spectral = renderChunk(k, task(undefined, residual));
      const subtracted = renderChunk(k, task(chunk(), residual));
      assert.equal(subtracted.length, residual ? 5 : 4);
      const compared = residual ? 4 : 5;
      assert.ok(
        maxDiff(spectral.slice(0, compared), subtracted.slice(0, compared)) < 1e-4,
        `differs by ${maxDiff(spectral.slice(0, compared), subtracted.slice(0, compared))}`,
      );
      const x = chunk();
      let err = 0;
      for (let c = 0; c < 2; c++)
        for (let i = 0; i < LENGTH; i++)
          err = Math.max(err, Math.abs(subtracted.reduce((s, st) => s + st[c][i], 0) - x[c][i]));
      assert.ok(err < 1e-6, `stems miss the chunk by ${err}`);
    });
  }
});
