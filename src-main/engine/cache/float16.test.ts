import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOAT16_MAX, decodeFloat16, encodeFloat16, quantizeFloat16, toFloat16Bits } from './float16.ts';

describe('float16', () => {
  test('encodes known values to their IEEE half bits', () => {
    assert.equal(toFloat16Bits(0), 0x0000);
    assert.equal(toFloat16Bits(1), 0x3c00);
    assert.equal(toFloat16Bits(-2), 0xc000);
    assert.equal(toFloat16Bits(0.5), 0x3800);
    assert.equal(toFloat16Bits(65504), 0x7bff);
    assert.equal(toFloat16Bits(2 ** -24), 0x0001, 'smallest subnormal');
    assert.equal(toFloat16Bits(1 + 2 ** -11), 0x3c00, 'a tie rounds to even (down)');
    assert.equal(toFloat16Bits(1 + 3 * 2 ** -11), 0x3c02, 'a tie rounds to even (up)');
  });

  test('clamps overflow and infinity to the largest finite half instead of giving infinity', () => {
    assert.deepEqual([...decodeFloat16(encodeFloat16(Float32Array.of(1e6, Infinity)))], [FLOAT16_MAX, FLOAT16_MAX]);
  });

  test('round-trips magnitudes from 1e-4 to 6e4 within 2^-11 relative error', () => {
    const values = Float32Array.from({ length: 20000 }, (_, i) => 1e-4 * 10 ** ((i / 20000) * 8.7));
    const back = decodeFloat16(encodeFloat16(values));
    let worst = 0;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(back[i] - values[i]) / values[i]);
    assert.ok(worst <= 2 ** -11, `worst relative error ${worst}`);
  });

  test('every half value decodes and re-encodes to itself', () => {
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((h) => (h & 0x7c00) !== 0x7c00);
    assert.deepEqual(encodeFloat16(decodeFloat16(bits)), bits);
  });

  test('quantizing replaces values by exactly what the cache will give back', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 100);
    const bits = new Uint16Array(values.length);
    quantizeFloat16(values, bits);
    assert.deepEqual(decodeFloat16(bits), values);
  });
});
