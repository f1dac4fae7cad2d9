import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { wiener } from './wiener.ts';
import { stft, istft, magnitude, type Spectrogram } from './stft.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Spectrogram from [re, im] pairs listed frame by frame for one bin (bins = 1). */
function oneBin(values: Array<[number, number]>): Spectrogram {
  return {
    re: Float32Array.from(values.map((v) => v[0])),
    im: Float32Array.from(values.map((v) => v[1])),
    bins: 1,
    frames: values.length,
  };
}

/** Magnitudes of one source with one bin: [left frames..., right frames...]. */
const mags = (left: number[], right: number[]) => Float32Array.from([...left, ...right]);

function assertCell(s: Spectrogram, i: number, re: number, im: number, tol = 1e-6): void {
  assert.ok(
    Math.abs(s.re[i] - re) < tol && Math.abs(s.im[i] - im) < tol,
    `cell ${i}: got ${s.re[i]}${s.im[i] >= 0 ? '+' : ''}${s.im[i]}i, expected ${re}${im >= 0 ? '+' : ''}${im}i`,
  );
}

describe('wiener, initial estimates (iterations 0)', () => {
  test('gives each source its magnitude with the mixture phase, and a real value where the mixture is 0', () => {
    const mix: [Spectrogram, Spectrogram] = [
      oneBin([
        [3, 4],
        [0, 0],
      ]),
      oneBin([
        [0, -2],
        [-1, 0],
      ]),
    ];
    const [a] = wiener([mags([10, 7], [5, 2])], mix, { iterations: 0, softmask: false, residual: false });
    assertCell(a[0], 0, 6, 8); // 10 * (3+4i)/5
    assertCell(a[0], 1, 7, 0); // angle(0) = 0
    assertCell(a[1], 0, 0, -5);
    assertCell(a[1], 1, -2, 0);
  });

  test('softmask splits the mixture in proportion to the magnitudes', () => {
    const mix: [Spectrogram, Spectrogram] = [oneBin([[2, 2]]), oneBin([[-4, 0]])];
    const out = wiener([mags([1], [0]), mags([3], [2])], mix, { iterations: 0, softmask: true, residual: false });
    assert.equal(out.length, 2);
    assertCell(out[0][0], 0, 0.5, 0.5);
    assertCell(out[1][0], 0, 1.5, 1.5);
    assertCell(out[0][1], 0, 0, 0);
    assertCell(out[1][1], 0, -4, 0);
  });

  test('residual appends the mixture minus the sum of the sources', () => {
    const mix: [Spectrogram, Spectrogram] = [oneBin([[3, 4]]), oneBin([[0, 1]])];
    const out = wiener([mags([1], [0.5]), mags([2], [0])], mix, { iterations: 0, softmask: false, residual: true });
    assert.equal(out.length, 3);
    // sources: 1*(0.6+0.8i) and 2*(0.6+0.8i) on the left; 0.5i and 0 on the right.
    assertCell(out[2][0], 0, 3 - 1.8, 4 - 2.4);
    assertCell(out[2][1], 0, 0, 0.5);
  });
});

describe('wiener, EM iterations (hand-derived cases)', () => {
  test('one cell: the source whose spatial image explains the mixture takes all of it', () => {
    // x = (1, i). A: magnitude (1, 0) -> y = (1, 0), v = 1/2, R = [[2,0],[0,0]].
    // B: magnitude (1, 1) -> y = (1, i), v = 1, R = [[1,-i],[i,1]].
    // Cxx = [[2,-i],[i,1]], det 1, Cxx^-1 x = (0, i); A = v R z = 0, B = (1, i).
    const mix: [Spectrogram, Spectrogram] = [oneBin([[1, 0]]), oneBin([[0, 1]])];
    const [a, b] = wiener([mags([1], [0]), mags([1], [1])], mix, { iterations: 1, softmask: false, residual: false });
    assertCell(a[0], 0, 0, 0);
    assertCell(a[1], 0, 0, 0);
    assertCell(b[0], 0, 1, 0);
    assertCell(b[1], 0, 0, 1);
  });

  test('two frames: covariances are pooled over frames and weighted by the summed PSD', () => {
    // x(t0) = (1, 1), x(t1) = (1, -1). A: magnitudes (1, 1) in both frames -> y = x, v = 1, R_A = I.
    // B: magnitude (1, 0) in both frames -> y = (1, 0), v = 1/2, R_B = 2 (1,0)(1,0)^T / 1 = [[2,0],[0,0]].
    // Cxx = I + 1/2 R_B = diag(2, 1) in both frames. t0: z = (1/2, 1): A = (1/2, 1), B = (1/2, 0).
    // t1: z = (1/2, -1): A = (1/2, -1), B = (1/2, 0).
    const mix: [Spectrogram, Spectrogram] = [
      oneBin([
        [1, 0],
        [1, 0],
      ]),
      oneBin([
        [1, 0],
        [-1, 0],
      ]),
    ];
    const est = [mags([1, 1], [1, 1]), mags([1, 1], [0, 0])];
    const once = wiener(est, mix, { iterations: 1, softmask: false, residual: false });
    const [a, b] = once;
    assertCell(a[0], 0, 0.5, 0);
    assertCell(a[1], 0, 1, 0);
    assertCell(a[0], 1, 0.5, 0);
    assertCell(a[1], 1, -1, 0);
    assertCell(b[0], 0, 0.5, 0);
    assertCell(b[1], 0, 0, 0);
    assertCell(b[0], 1, 0.5, 0);
    assertCell(b[1], 1, 0, 0);
    // A second step re-estimates v_A = 5/8, R_A = diag(0.4, 1.6), v_B = 1/8, R_B = diag(2, 0):
    // Cxx = diag(0.5, 1) and the estimates stay where they are (a fixed point).
    const twice = wiener(est, mix, { iterations: 2, softmask: false, residual: false });
    for (let j = 0; j < 2; j++) {
      for (let c = 0; c < 2; c++) {
        for (let t = 0; t < 2; t++) assertCell(twice[j][c], t, once[j][c].re[t], once[j][c].im[t]);
      }
    }
  });

  test('scales with the mixture: x100 in gives x100 out (the internal max|x|/10 scaling cancels)', () => {
    const mix: [Spectrogram, Spectrogram] = [
      oneBin([
        [100, 0],
        [100, 0],
      ]),
      oneBin([
        [100, 0],
        [-100, 0],
      ]),
    ];
    const [a, b] = wiener([mags([100, 100], [100, 100]), mags([100, 100], [0, 0])], mix, {
      iterations: 1,
      softmask: false,
      residual: false,
    });
    assertCell(a[1], 1, -100, 0, 1e-4);
    assertCell(b[0], 0, 50, 0, 1e-4);
  });

  test('rejects estimates of the wrong size and negative iterations', () => {
    const mix: [Spectrogram, Spectrogram] = [oneBin([[1, 0]]), oneBin([[1, 0]])];
    assert.throws(
      () => wiener([new Float32Array(3)], mix, { iterations: 1, softmask: false, residual: false }),
      /source 0/,
    );
    assert.throws(
      () => wiener([mags([1], [1])], mix, { iterations: -1, softmask: false, residual: false }),
      /iterations/,
    );
  });
});

/** Stereo test song: four "sources" of coloured noise with their own stereo placement. */
function makeSources(length: number): Float32Array[][] {
  const next = rng(42);
  return [0, 1, 2, 3].map((j) => {
    const mono = new Float32Array(length);
    let state = 0;
    const pole = [0.99, 0.6, 0, -0.7][j];
    for (let i = 0; i < length; i++) {
      state = pole * state + (next() - 0.5);
      mono[i] = 0.2 * state * (1 - Math.abs(pole) * 0.9);
    }
    const pan = [0.5, 0.2, 0.8, 0.35][j];
    return [mono.map((s) => s * Math.cos((pan * Math.PI) / 2)), mono.map((s) => s * Math.sin((pan * Math.PI) / 2))];
  });
}

function snrDb(ref: Float32Array, est: Float32Array): number {
  let s = 0,
    e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i] * ref[i];
    e += (ref[i] - est[i]) ** 2;
  }
  return 10 * Math.log10(s / e);
}

describe('wiener, mixture consistency through STFT and ISTFT', () => {
  const length = 44100 * 2 + 333;
  const sources = makeSources(length);
  const mixAudio = [0, 1].map((c) => {
    const m = new Float32Array(length);
    for (const s of sources) for (let i = 0; i < length; i++) m[i] += s[c][i];
    return m;
  });
  const mix = [stft(mixAudio[0]), stft(mixAudio[1])] as [Spectrogram, Spectrogram];
  const plane = mix[0].bins * mix[0].frames;
  /** Oracle magnitudes, distorted so the filter has something to do; bins from `zeroFrom` on set to 0. */
  const estimates = (zeroFrom = Infinity) => {
    const next = rng(9);
    return sources.map((s) => {
      const e = new Float32Array(2 * plane);
      for (let c = 0; c < 2; c++) {
        const m = magnitude(stft(s[c]));
        for (let i = 0; i < plane; i++) {
          const bin = Math.floor(i / mix[0].frames);
          e[c * plane + i] = bin >= zeroFrom ? 0 : m[i] * (0.5 + next());
        }
      }
      return e;
    });
  };
  const sumOfStems = (out: Array<[Spectrogram, Spectrogram]>, c: number) => {
    const sum = new Float32Array(length);
    for (const stem of out) {
      const y = istft(stem[c], length);
      for (let i = 0; i < length; i++) sum[i] += y[i];
    }
    return sum;
  };

  for (const [name, opts, zeroFrom] of [
    ['1 EM iteration (X-UMX eval)', { iterations: 1, softmask: false, residual: false }, Infinity],
    ['3 EM iterations with softmask start', { iterations: 3, softmask: true, residual: false }, Infinity],
    ['residual, no EM, upper bins left out by every source', { iterations: 0, softmask: false, residual: true }, 1500],
    [
      'residual and 1 EM iteration, upper bins left out by every source',
      { iterations: 1, softmask: false, residual: true },
      1500,
    ],
  ] as const) {
    test(`stems sum back to the mixture within -60 dB: ${name}`, () => {
      const out = wiener(estimates(zeroFrom), mix, opts);
      assert.equal(out.length, 4 + (opts.residual ? 1 : 0));
      for (let c = 0; c < 2; c++) {
        const snr = snrDb(mixAudio[c], sumOfStems(out, c));
        assert.ok(snr > 60, `channel ${c}: mixture vs sum of stems ${snr.toFixed(1)} dB`);
      }
    });
  }

  test('without a residual, what no source claims is dropped (the option matters)', () => {
    const out = wiener(estimates(1500), mix, { iterations: 1, softmask: false, residual: false });
    const snr = snrDb(mixAudio[0], sumOfStems(out, 0));
    assert.ok(snr < 60, `sum of stems unexpectedly complete: ${snr.toFixed(1)} dB`);
  });

  test('the filtered stems are closer to the true sources than the mixture is', () => {
    const out = wiener(estimates(), mix, { iterations: 1, softmask: false, residual: false });
    for (let j = 0; j < 4; j++) {
      const y = istft(out[j][0], length);
      assert.ok(snrDb(sources[j][0], y) > snrDb(sources[j][0], mixAudio[0]) + 3, `source ${j}`);
    }
  });
});

// An independent numpy implementation written from the same equations (not norbert's code), run when Debian's
// python3 has numpy. Layouts: x [2][bins][frames], v [J][2][bins][frames], result [J'][2][bins][frames].
const NUMPY_REFERENCE = `
import sys, json, numpy as np
d = json.load(sys.stdin)
B, T, J, eps = d['bins'], d['frames'], d['J'], d['eps']
x = (np.array(d['xre']) + 1j * np.array(d['xim'])).reshape(2, B, T)
v = np.array(d['v']).reshape(J, 2, B, T)
if d['softmask']:
    y = x[None] * v / (eps + v.sum(0, keepdims=True))
else:
    y = v * np.exp(1j * np.angle(x))[None]
if d['residual']:
    y = np.concatenate([y, (x - y.sum(0))[None]], 0)
if d['iterations'] > 0:
    m = max(1.0, np.abs(x).max() / 10)
    xs, y = x / m, y / m
    for _ in range(d['iterations']):
        p = (np.abs(y) ** 2).mean(1)
        R = np.einsum('jaft,jbft->jfab', y, y.conj()) / (eps + p.sum(-1))[..., None, None]
        C = np.einsum('jft,jfab->ftab', p, R) + np.sqrt(eps) * np.eye(2)
        W = np.einsum('jft,jfab,ftbc->jftac', p, R, np.linalg.inv(C))
        y = np.einsum('jftac,cft->jaft', W, xs)
    y = y * m
json.dump({'re': y.real.ravel().tolist(), 'im': y.imag.ravel().tolist()}, sys.stdout)
`;

const hasNumpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

describe(
  'wiener against an independent numpy implementation',
  { skip: hasNumpy ? false : 'no numpy in /usr/bin/python3' },
  () => {
    const bins = 6,
      frames = 9,
      J = 3;
    const next = rng(123);
    const plane = bins * frames;
    const mix = [0, 1].map(() => ({
      re: Float32Array.from({ length: plane }, () => 4 * (next() - 0.5)),
      im: Float32Array.from({ length: plane }, () => 4 * (next() - 0.5)),
      bins,
      frames,
    })) as [Spectrogram, Spectrogram];
    mix[0].re[3] = 0;
    mix[0].im[3] = 0; // one silent mixture cell
    const v = Array.from({ length: J }, () => Float32Array.from({ length: 2 * plane }, () => 3 * next()));

    for (const opts of [
      { iterations: 0, softmask: false, residual: false },
      { iterations: 1, softmask: false, residual: false },
      { iterations: 3, softmask: false, residual: true },
      { iterations: 2, softmask: true, residual: false },
      { iterations: 1, softmask: true, residual: true, eps: 1e-3 },
    ]) {
      test(`agrees for ${JSON.stringify(opts)}`, () => {
        const eps = opts.eps ?? Number.EPSILON;
        const input = JSON.stringify({
          bins,
          frames,
          J,
          eps,
          ...opts,
          xre: [...mix[0].re, ...mix[1].re],
          xim: [...mix[0].im, ...mix[1].im],
          v: v.flatMap((e) => [...e]),
        });
        const r = spawnSync('/usr/bin/python3', ['-c', NUMPY_REFERENCE], { input, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        const ref = JSON.parse(r.stdout) as { re: number[]; im: number[] };
        const out = wiener(v, mix, opts);
        const got = out.flatMap((s) => [...s[0].re, ...s[1].re]);
        const gotIm = out.flatMap((s) => [...s[0].im, ...s[1].im]);
        assert.equal(got.length, ref.re.length);
        let err = 0;
        for (let i = 0; i < got.length; i++)
          err = Math.max(err, Math.abs(got[i] - ref.re[i]), Math.abs(gotIm[i] - ref.im[i]));
        assert.ok(err < 1e-5, `max abs difference ${err}`);
      });
    }
  },
);

describe('wiener, reusing buffers', () => {
  // Random mixture with silent cells, a silent bin and estimates that are zero in places.
  const bins = 40,
    frames = 37,
    J = 4;
  const next = rng(77);
  const plane = bins * frames;
  const mix = [0, 1].map(() => ({
    re: Float32Array.from({ length: plane }, () => 2 * (next() - 0.5)),
    im: Float32Array.from({ length: plane }, () => 2 * (next() - 0.5)),
    bins,
    frames,
  })) as [Spectrogram, Spectrogram];
  for (const i of [0, 5, 77, 300]) {
    mix[0].re[i] = 0;
    mix[0].im[i] = 0;
  }
  for (let t = 0; t < frames; t++)
    for (const x of mix) {
      x.re[7 * frames + t] = 0;
      x.im[7 * frames + t] = 0;
    }
  const estimates = () => {
    const r = rng(5);
    return Array.from({ length: J }, (_, j) =>
      Float32Array.from({ length: 2 * plane }, (_, i) =>
        (j === 1 && i % 11 === 0) || Math.floor((i % plane) / frames) === 12 ? 0 : 1.5 * r(),
      ),
    );
  };

  test('writes every cell of a reused result, so reusing one gives what a fresh call gives', () => {
    for (const opts of [
      { iterations: 1, softmask: false, residual: true },
      { iterations: 0, softmask: true, residual: true },
    ]) {
      const stale = wiener(
        estimates().map((e) => e.map((x) => 3 * x + 1)),
        mix,
        { iterations: 2, softmask: false, residual: true },
      );
      const reused = wiener(estimates(), mix, opts, stale);
      assert.equal(reused[0], stale[0], 'the buffers were reused');
      const fresh = wiener(estimates(), mix, opts);
      reused.forEach((stem, j) =>
        stem.forEach((s, c) => {
          assert.deepEqual(s.re, fresh[j][c].re);
          assert.deepEqual(s.im, fresh[j][c].im);
        }),
      );
    }
  });
});
