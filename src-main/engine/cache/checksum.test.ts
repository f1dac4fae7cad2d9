import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dspKernels, loadDspKernels, type DspKernels } from '../dsp/kernels/index.ts';
import { checksum, checksumReference } from './checksum.ts';

function bytes(n: number, seed = 1): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 24;
  });
}

describe('checksum', () => {
  before(() => loadDspKernels());

  test("the kernel gives the reference's value for every length of tail and block", () => {
    for (const n of [0, 1, 3, 4, 5, 15, 16, 63, 64, 65, 100, 127, 128, 1000, 4099, (1 << 20) + 7]) {
      const b = bytes(n, n + 1);
      const want = checksumReference(b);
      assert.equal(dspKernels().checksum(b), want, `${n} bytes`);
      assert.equal(dspKernels().checksum(b.subarray(0)), want);
      assert.ok(Number.isInteger(want) && want >= 0 && want < 2 ** 32);
    }
  });

  test('changes with any flipped bit, a swap of two words, and the length', () => {
    const b = bytes(5000);
    const base = dspKernels().checksum(b);
    const seen = new Set([base]);
    for (const at of [0, 1, 63, 64, 2047, 4991, 4992, 4999]) {
      for (const bit of [0, 7]) {
        const c = b.slice();
        c[at] ^= 1 << bit;
        const h = dspKernels().checksum(c);
        assert.equal(h, checksumReference(c));
        assert.ok(!seen.has(h), `flipping bit ${bit} of byte ${at} went unnoticed or collided`);
        seen.add(h);
      }
    }
    const swapped = b.slice();
    swapped.set(b.subarray(0, 4), 64);
    swapped.set(b.subarray(64, 68), 0);
    assert.notEqual(dspKernels().checksum(swapped), base);
    assert.notEqual(checksumReference(new Uint8Array(64)), checksumReference(new Uint8Array(128)));
    assert.notEqual(checksumReference(new Uint8Array(0)), checksumReference(new Uint8Array(1)));
  });

  test('computes with the kernels it is given, and without any on the reference, whatever this thread loaded', () => {
    const kernels = dspKernels();
    let calls = 0;
    const counted = Object.create(kernels, {
      checksum: {
        value: (b: Uint8Array) => {
          calls++;
          return kernels.checksum(b);
        },
      },
    }) as DspKernels;
    const b = bytes(4099, 7);
    assert.equal(checksum(b, counted), checksumReference(b));
    assert.equal(calls, 1);
    assert.equal(checksum(b), checksumReference(b));
    assert.equal(calls, 1);
  });
});
