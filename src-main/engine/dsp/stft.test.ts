import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stft, istft, magnitude, frameCount } from './stft.ts';

/** Deterministic uniform noise in [-0.5, 0.5). */
function noise(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** One frame by the definition: sum_n w[n] x_pad[t*hop + n] e^{-2 pi i k n / N}, reflect padding by hand. */
function directFrame(x: Float32Array, t: number, nFft: number, hop: number): { re: Float64Array; im: Float64Array } {
  const half = nFft / 2;
  const re = new Float64Array(half + 1),
    im = new Float64Array(half + 1);
  const frame = new Float64Array(nFft);
  for (let n = 0; n < nFft; n++) {
    let idx = t * hop + n - half;
    if (idx < 0) idx = -idx;
    if (idx >= x.length) idx = 2 * (x.length - 1) - idx;
    frame[n] = (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft)) * x[idx];
  }
  for (let k = 0; k <= half; k++) {
    let sr = 0,
      si = 0;
    for (let n = 0; n < nFft; n++) {
      const a = (-2 * Math.PI * ((k * n) % nFft)) / nFft;
      sr += frame[n] * Math.cos(a);
      si += frame[n] * Math.sin(a);
    }
    re[k] = sr;
    im[k] = si;
  }
  return { re, im };
}

describe('stft', () => {
  test('has nFft/2+1 bins and 1 + floor(len/hop) frames, as torch.stft(center=true)', () => {
    for (const len of [44100, 1024 * 10, 5000]) {
      const s = stft(noise(len, 1));
      assert.equal(s.bins, 2049);
      assert.equal(s.frames, 1 + Math.floor(len / 1024));
      assert.equal(s.re.length, 2049 * s.frames);
      assert.equal(frameCount(len), s.frames);
    }
  });

  test('matches a direct DFT of reflect-padded, Hann-windowed frames (edge, interior and last frames)', () => {
    const x = noise(20000, 7);
    const s = stft(x);
    for (const t of [0, 1, 9, s.frames - 1]) {
      const ref = directFrame(x, t, 4096, 1024);
      let peak = 0,
        err = 0;
      for (let k = 0; k < s.bins; k++) {
        peak = Math.max(peak, Math.hypot(ref.re[k], ref.im[k]));
        err = Math.max(err, Math.abs(s.re[k * s.frames + t] - ref.re[k]), Math.abs(s.im[k * s.frames + t] - ref.im[k]));
      }
      assert.ok(err < 1e-6 * peak * 10, `frame ${t}: max error ${err} vs peak ${peak}`);
    }
  });

  test('matches a direct DFT for another size and hop (nFft 256, hop 100)', () => {
    const x = noise(3001, 3);
    const s = stft(x, { nFft: 256, hop: 100 });
    assert.equal(s.bins, 129);
    assert.equal(s.frames, 1 + Math.floor(3001 / 100));
    for (const t of [0, 5, s.frames - 1]) {
      const ref = directFrame(x, t, 256, 100);
      for (let k = 0; k < s.bins; k++) {
        assert.ok(Math.abs(s.re[k * s.frames + t] - ref.re[k]) < 1e-5);
        assert.ok(Math.abs(s.im[k * s.frames + t] - ref.im[k]) < 1e-5);
      }
    }
  });

  test('puts a sinusoid at its bin with amplitude sum(window)/2 = nFft/4', () => {
    const n = 44100,
      k0 = 100;
    const x = new Float32Array(n).map((_, i) => Math.cos((2 * Math.PI * k0 * i) / 4096));
    const s = stft(x);
    const t = 20;
    const peak = Math.hypot(s.re[k0 * s.frames + t], s.im[k0 * s.frames + t]);
    assert.ok(Math.abs(peak - 1024) < 1e-2, `peak ${peak}`);
    assert.ok(Math.hypot(s.re[(k0 + 5) * s.frames + t], s.im[(k0 + 5) * s.frames + t]) < 1e-3);
  });
});

describe('istft', () => {
  test('reconstructs random noise within 1e-5 for lengths on and off the hop grid', () => {
    for (const len of [1024 * 40, 44100 * 2 + 17, 4097, 2049]) {
      const x = noise(len, len);
      const y = istft(stft(x), len);
      assert.equal(y.length, len);
      const err = maxAbsDiff(x, y);
      assert.ok(err < 1e-5, `len ${len}: max error ${err}`);
    }
  });

  test('reconstructs with a non-default size and a hop that does not divide it', () => {
    const x = noise(5000, 11);
    const opts = { nFft: 512, hop: 160 };
    const err = maxAbsDiff(x, istft(stft(x, opts), x.length, opts));
    assert.ok(err < 1e-5, `max error ${err}`);
  });

  test('handles signals shorter than nFft/2+1 by zero-padding them to that length first', () => {
    for (const len of [0, 1, 100, 2048]) {
      const x = noise(len, 5 + len);
      const s = stft(x);
      assert.equal(s.frames, 1 + Math.floor(2049 / 1024));
      const y = istft(s, len);
      assert.equal(y.length, len);
      assert.ok(len === 0 || maxAbsDiff(x, y) < 1e-5);
      // Asking for more samples gives the zero padding back, not garbage.
      const longer = istft(s, 2049);
      for (let i = len; i < 2049; i++) assert.ok(Math.abs(longer[i]) < 1e-5);
    }
  });

  test('zero-extends beyond the covered length and ignores the imaginary part of DC and Nyquist', () => {
    const x = noise(10000, 21);
    const s = stft(x);
    const half = 2048;
    for (let t = 0; t < s.frames; t++) {
      s.im[t] = 3;
      s.im[half * s.frames + t] = -2;
    }
    const covered = (s.frames - 1) * 1024 + 4096 - 2048;
    const y = istft(s, covered + 500);
    assert.ok(maxAbsDiff(x, y.subarray(0, x.length)) < 1e-5);
    for (let i = covered; i < y.length; i++) assert.equal(y[i], 0);
  });

  test('rejects a spectrogram whose bins do not fit the FFT size', () => {
    const s = stft(noise(5000, 1));
    assert.throws(() => istft(s, 5000, { nFft: 2048 }), /bins/);
  });
});

describe('magnitude', () => {
  test('is |re + i im| in the same layout, written into a given buffer when passed', () => {
    const s = { re: new Float32Array([3, 0, -5, 1]), im: new Float32Array([4, 2, 12, 0]), bins: 2, frames: 2 };
    assert.deepEqual([...magnitude(s)], [5, 2, 13, 1]);
    const out = new Float32Array(4);
    assert.equal(magnitude(s, out), out);
    assert.deepEqual([...out], [5, 2, 13, 1]);
  });
});
