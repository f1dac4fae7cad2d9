import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mixStems } from './mix.ts';

const stem = (...chs: number[][]) => ({ sampleRate: 44100, channels: chs.map((c) => Float32Array.from(c)) });

describe('mixStems', () => {
  test('sums stems scaled by their gains', () => {
    const out = mixStems([stem([1, 2], [3, 4]), stem([10, 20], [30, 40])], [0.5, 0.1]);
    assert.deepEqual(Array.from(out.channels[0]), [1.5, 3]);
    assert.deepEqual(Array.from(out.channels[1]), [4.5, 6]);
  });

  test('leaves a muted stem out entirely', () => {
    const out = mixStems([stem([1, 1]), stem([5, 5])], [1, 0]);
    assert.deepEqual(Array.from(out.channels[0]), [1, 1]);
  });

  test('plays a mono stem on both channels', () => {
    const out = mixStems([stem([1, 1], [2, 2]), stem([4, 4])], [1, 1]);
    assert.deepEqual(Array.from(out.channels[1]), [6, 6]);
  });

  test('a stem with no channels adds nothing, whatever its gain', () => {
    const out = mixStems([stem([1, 2], [3, 4]), stem()], [1, 0.8]);
    assert.deepEqual(
      out.channels.map((c) => Array.from(c)),
      [
        [1, 2],
        [3, 4],
      ],
    );
  });

  test('refuses stems of different sample rates', () => {
    assert.throws(() => mixStems([stem([1]), { sampleRate: 48000, channels: [Float32Array.from([1])] }], [1, 1]));
  });
});
