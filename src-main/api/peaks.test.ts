import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computePeaks, peaksFromSpans, roundPeaks } from './peaks.ts';

describe('computePeaks', () => {
  test('keeps the extremes of every bucket across channels', () => {
    const left = Float32Array.from([0.1, -0.5, 0.2, 0.9, 0, 0]);
    const right = Float32Array.from([0.3, 0, -0.8, 0, 0.4, -0.1]);
    const { max, min } = computePeaks([left, right], 3);
    assert.deepEqual(
      Array.from(max, (v) => +v.toFixed(3)),
      [0.3, 0.9, 0.4],
    );
    assert.deepEqual(
      Array.from(min, (v) => +v.toFixed(3)),
      [-0.5, -0.8, -0.1],
    );
  });

  test('covers every sample when the length does not divide evenly', () => {
    const ch = new Float32Array(1001);
    ch[1000] = 1;
    ch[0] = -1;
    const { max, min } = computePeaks([ch], 10);
    assert.equal(max.length, 10);
    assert.equal(max[9], 1);
    assert.equal(min[0], -1);
  });

  test('asks for no more buckets than there are samples', () => {
    const { max } = computePeaks([Float32Array.from([0.5, 0.25])], 100);
    assert.equal(max.length, 2);
  });

  test('rounds to four decimals for transport', () => {
    assert.deepEqual(roundPeaks(Float32Array.from([0.123456, -0.99999])), [0.1235, -1]);
  });
});

describe('peaksFromSpans', () => {
  /** Extremes of each span of `size` frames of the channels as far as `ready`, as a listening copy records them. */
  function spansOf(channels: Float32Array[], size: number, ready = channels[0].length) {
    const n = Math.ceil(ready / size);
    const min = new Float32Array(n);
    const max = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const part = computePeaks(
        channels.map((ch) => ch.subarray(k * size, Math.min(ready, (k + 1) * size))),
        1,
      );
      min[k] = part.min[0];
      max[k] = part.max[0];
    }
    return { peakFrames: size, min, max };
  }
  function noise(length: number, seed: number): Float32Array {
    let x = seed;
    return Float32Array.from({ length }, () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
  }

  test('gives each bucket the extremes of its own samples, in at most as many buckets of whole spans as asked for', () => {
    const length = 10_007;
    const channels = [noise(length, 3), noise(length, 4)];
    for (const buckets of [1, 7, 100, 333, 5000]) {
      const got = peaksFromSpans(spansOf(channels, 64), length, buckets);
      const n = got.max.length;
      assert.ok(n <= buckets, `${n} buckets for ${buckets} asked for`);
      assert.equal(got.bucketFrames % 64, 0, 'a whole number of spans');
      assert.ok(n * got.bucketFrames >= length && (n - 1) * got.bucketFrames < length, 'the song, to its last bucket');
      for (let b = 0; b < n; b++) {
        const own = computePeaks(
          channels.map((ch) => ch.subarray(b * got.bucketFrames, (b + 1) * got.bucketFrames)),
          1,
        );
        assert.deepEqual([got.min[b], got.max[b]], [own.min[0], own.max[0]], `bucket ${b} of ${n}`);
      }
    }
  });

  test('leaves the buckets no known span reaches at zero, and fills the ones the known spans reach', () => {
    const length = 1000;
    const channels = [Float32Array.from({ length }, (_, i) => 0.5 + i / 10_000), new Float32Array(length).fill(-0.25)];
    const got = peaksFromSpans(spansOf(channels, 100, 300), length, 10);
    assert.equal(got.bucketFrames, 100);
    const ready = computePeaks(
      channels.map((ch) => ch.subarray(0, 300)),
      3,
    );
    assert.deepEqual(Array.from(got.max), [...ready.max, ...new Array(7).fill(0)]);
    assert.deepEqual(Array.from(got.min), [...ready.min, ...new Array(7).fill(0)]);
  });

  test('gives no more buckets than the song has spans', () => {
    const got = peaksFromSpans(spansOf([noise(1000, 5)], 100), 1000, 100_000);
    assert.equal(got.max.length, 10);
    assert.equal(got.bucketFrames, 100);
  });
});
