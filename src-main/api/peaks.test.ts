import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computePeaks, peaksFromBlocks, roundPeaks } from './peaks.ts';

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

describe('peaksFromBlocks', () => {
  /** Extremes of each block of `size` frames of the channels, as a listening copy records them. */
  function blocksOf(channels: Float32Array[], size: number, ready = channels[0].length) {
    const n = Math.ceil(ready / size);
    const min = new Float32Array(n);
    const max = new Float32Array(n);
    for (let b = 0; b < n; b++) {
      const part = channels.flatMap((ch) => [...ch.subarray(b * size, Math.min(ready, (b + 1) * size))]);
      min[b] = Math.min(...part);
      max[b] = Math.max(...part);
    }
    return { blockFrames: size, min, max };
  }
  function noise(length: number, seed: number): Float32Array {
    let x = seed;
    return Float32Array.from({ length }, () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
  }

  test("equals the samples' own peaks when the buckets start and end on block edges", () => {
    const channels = [noise(40 * 50, 1), noise(40 * 50, 2)];
    const got = peaksFromBlocks(blocksOf(channels, 50), channels[0].length, 20);
    assert.deepEqual(got, computePeaks(channels, 20));
  });

  test('never hides a sample of a bucket, and takes nothing from beyond the blocks it touches', () => {
    const length = 10_007;
    const channels = [noise(length, 3), noise(length, 4)];
    const size = 64;
    for (const buckets of [7, 100, 333, 5000]) {
      const got = peaksFromBlocks(blocksOf(channels, size), length, buckets);
      const own = computePeaks(channels, buckets);
      assert.equal(got.max.length, own.max.length);
      for (let b = 0; b < own.max.length; b++) {
        const start = Math.floor((b * length) / own.max.length);
        const end = Math.max(start + 1, Math.floor(((b + 1) * length) / own.max.length));
        const touched = channels.map((ch) =>
          ch.subarray(Math.floor(start / size) * size, Math.ceil(end / size) * size),
        );
        const wide = computePeaks(touched, 1);
        assert.ok(got.max[b] >= own.max[b] && got.max[b] <= wide.max[0], `bucket ${b} of ${buckets}: max`);
        assert.ok(got.min[b] <= own.min[b] && got.min[b] >= wide.min[0], `bucket ${b} of ${buckets}: min`);
      }
    }
  });

  test('leaves the buckets past the ready blocks at zero and fills the ones they reach', () => {
    const length = 1000;
    const channels = [Float32Array.from({ length }, (_, i) => 0.5 + i / 10_000), new Float32Array(length).fill(-0.25)];
    const got = peaksFromBlocks(blocksOf(channels, 100, 300), length, 10);
    const ready = computePeaks(
      channels.map((ch) => ch.subarray(0, 300)),
      3,
    );
    assert.deepEqual(Array.from(got.max), [...ready.max, ...new Array(7).fill(0)]);
    assert.deepEqual(Array.from(got.min), [...ready.min, ...new Array(7).fill(0)]);
  });

  test('gives a short song as many buckets as computePeaks does: one per sample, each from its own block', () => {
    const channels = [Float32Array.from([0.5, -0.25, 0.125])];
    const got = peaksFromBlocks(blocksOf(channels, 1), 3, 100);
    assert.deepEqual(got, computePeaks(channels, 100));
    assert.equal(peaksFromBlocks(blocksOf(channels, 2), 3, 100).max.length, 3);
  });
});
