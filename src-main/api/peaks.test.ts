import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computePeaks, roundPeaks } from './peaks.ts';

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
