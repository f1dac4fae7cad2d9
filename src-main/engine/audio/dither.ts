// The dither choice and the seeded generator behind it, shared by the JavaScript writers (pcm.ts) and the DSP
// kernels' loader, which steps the same generator inside WebAssembly.

export type Dither = 'tpdf' | 'none';

/** A small seeded PRNG (mulberry32): dither must not depend on Math.random to keep tests repeatable. */
export class Mulberry32 {
  /** The generator's 32-bit state; toIntInterleaved steps it inline. */
  state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    const s = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** mulberry32 as a function: the same sequence as `new Mulberry32(seed).next()`. */
export function mulberry32(seed: number): () => number {
  const g = new Mulberry32(seed);
  return () => g.next();
}
