// The estimate cache's record checksum, defined here in JavaScript; the DSP kernels (../dsp/kernels/assembly/dsp.ts
// checksum) compute the same value about 5x faster than zlib's crc32, and checksum() uses them when it is given them.
// Detects any change confined to one 32-bit lane position for certain (every step is invertible in the lane's
// accumulator) and other damage with probability 1 - 2^-32; it guards against disk damage, not tampering.
import type { DspKernels } from '../dsp/kernels/index.ts';

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
const word = (h: number, w: number) => Math.imul(rotl((h + Math.imul(w, P3)) >>> 0, 17), P4) >>> 0;

/** The checksum of `bytes`: on `kernels` (the calling thread's) when given, else checksumReference (the same value). */
export function checksum(bytes: Uint8Array, kernels?: DspKernels): number {
  return kernels ? kernels.checksum(bytes) : checksumReference(bytes);
}

/**
 * 16 accumulators (lane k starts at the k-th of the seeds below) each take every 16th little-endian 32-bit word of
 * the whole 64-byte blocks: acc = rotl(acc + w·P2, 13)·P1. Then, from n·P5, the 16 accumulators in order and the
 * remaining whole words fold in as h = rotl(h + w·P3, 17)·P4, remaining bytes as h = rotl(h + b·P5, 11)·P1, and
 * h is avalanched (xor-shift 15, ·P2, xor-shift 13, ·P3, xor-shift 16). All arithmetic modulo 2^32.
 */
export function checksumReference(bytes: Uint8Array): number {
  const n = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seeds = [P1, P2, P3, P4, P5];
  const acc = Array.from({ length: 16 }, (_, k) => seeds[(Math.floor(k / 4) + (k % 4)) % 5]);
  let i = 0;
  for (; i + 64 <= n; i += 64) {
    for (let k = 0; k < 16; k++) {
      const a = (acc[k] + Math.imul(view.getUint32(i + 4 * k, true), P2)) >>> 0;
      acc[k] = Math.imul(rotl(a, 13), P1) >>> 0;
    }
  }
  let h = Math.imul(n, P5) >>> 0;
  for (const a of acc) h = word(h, a);
  for (; i + 4 <= n; i += 4) h = word(h, view.getUint32(i, true));
  for (; i < n; i++) h = Math.imul(rotl((h + Math.imul(bytes[i], P5)) >>> 0, 11), P1) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, P2) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, P3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
