import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BYTES_PER_VALUE, decodeFloat24, quantizeFloat24 } from './float24.ts';

const roundTrip = (values: Float32Array) => {
  const bytes = new Uint8Array(values.length * BYTES_PER_VALUE);
  const rounded = values.slice();
  quantizeFloat24(rounded, bytes);
  return { rounded, decoded: decodeFloat24(bytes, new Float32Array(values.length)) };
};

describe('float24', () => {
  test('keeps magnitudes from 1e-30 to 1e30 within 2^-16 relative error', () => {
    const values = Float32Array.from(
      { length: 50000 },
      (_, i) => 10 ** (-30 + (i / 50000) * 60) * (1 + ((i * 7919) % 1000) / 1000),
    );
    const { decoded } = roundTrip(values);
    let worst = 0;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(decoded[i] - values[i]) / values[i]);
    assert.ok(worst <= 2 ** -16, `worst relative error ${worst}`);
    assert.ok(worst > 0, 'the format does drop bits');
  });

  test('rounding replaces values by exactly what decoding gives back', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1000);
    const { rounded, decoded } = roundTrip(values);
    assert.deepEqual(decoded, rounded);
  });

  test('keeps zero, signs and infinity, and never rounds a finite value up to infinity', () => {
    const { decoded } = roundTrip(Float32Array.of(0, -0, -2.5, Infinity, 3.4028234663852886e38));
    assert.deepEqual([...decoded.subarray(0, 4)], [0, -0, -2.5, Infinity]);
    assert.ok(Number.isFinite(decoded[4]) && decoded[4] > 3.4e38);
  });
});
