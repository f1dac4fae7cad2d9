// IEEE 754 half precision for the estimate cache: 2 bytes per magnitude, relative rounding error ≤ 2^-11 (4.9e-4)
// for normal values, round-to-nearest-even. Node 20 has no Float16Array, so the bits are built by hand; decoding
// goes through a 65536-entry table (one array read per value).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Largest finite half; larger values (and +Infinity) are clamped to it so a cached estimate is never infinite. */
export const FLOAT16_MAX = 65504;
const MAX_BITS = 0x7bff;

/** Half-precision bits of x (NaN stays NaN, overflow clamps to ±65504). */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 : sign | MAX_BITS;
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | MAX_BITS;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: zero
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // a carry into the exponent is still the right value
  if (h > MAX_BITS) h = MAX_BITS;
  return sign | h;
}

function bitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let table: Float32Array | null = null;
function decodeTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = bitsToNumber(h);
  }
  return table;
}

export function encodeFloat16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = toFloat16Bits(src[i]);
  return dst;
}

export function decodeFloat16(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const t = decodeTable();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]];
  return dst;
}

/** Encodes into `bits` and replaces `values` by what decoding gives back, so a run from the network and a run from the cache see the same numbers. */
export function quantizeFloat16(values: Float32Array, bits: Uint16Array): void {
  const t = decodeTable();
  for (let i = 0; i < values.length; i++) {
    const h = toFloat16Bits(values[i]);
    bits[i] = h;
    values[i] = t[h];
  }
}
