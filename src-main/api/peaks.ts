// Waveform overview of a stem: min and max per bucket over all channels, so the UI can draw a 10-minute song at
// once without decoding it in the renderer. Either from the stem's samples, or from the extremes a listening copy
// recorded per block as it was written (the same buckets: a lane drawn from either lines up with the other).

export interface Peaks {
  /** Per bucket, the largest sample of any channel. */
  max: Float32Array;
  /** Per bucket, the smallest sample of any channel. */
  min: Float32Array;
}

/** How many buckets a song of `length` samples gets when `buckets` are asked for. */
function bucketCount(length: number, buckets: number): number {
  return Math.max(1, Math.min(buckets, Math.max(1, length)));
}

/** Samples [start, end) of bucket `b` of `n` over `length` samples: nearly equal runs that cover every sample. */
function bucketRange(b: number, n: number, length: number): { start: number; end: number } {
  const start = Math.floor((b * length) / n);
  return { start, end: Math.max(start + 1, Math.floor(((b + 1) * length) / n)) };
}

/** Splits `length` samples into `buckets` nearly equal runs and keeps the extremes of each. */
export function computePeaks(channels: Float32Array[], buckets: number): Peaks {
  const length = channels[0]?.length ?? 0;
  const n = bucketCount(length, buckets);
  const max = new Float32Array(n);
  const min = new Float32Array(n);
  for (let b = 0; b < n; b++) {
    const { start, end } = bucketRange(b, n, length);
    let hi = -Infinity;
    let lo = Infinity;
    for (const ch of channels) {
      for (let i = start; i < end && i < length; i++) {
        const v = ch[i];
        if (v > hi) hi = v;
        if (v < lo) lo = v;
      }
    }
    max[b] = hi === -Infinity ? 0 : hi;
    min[b] = lo === Infinity ? 0 : lo;
  }
  return { max, min };
}

/** One stem's extremes per block of `blockFrames` frames from the song's start, as far as they are known. */
export interface BlockExtremes {
  blockFrames: number;
  min: Float32Array;
  max: Float32Array;
}

/**
 * The buckets computePeaks would make of a song of `length` samples, from its blocks' extremes. A bucket takes every
 * block it touches, so no sample's extreme is ever hidden; where a bucket's edge falls inside a block it may show
 * that block's extreme from up to a block beyond the edge. Buckets no known block reaches are 0.
 */
export function peaksFromBlocks(blocks: BlockExtremes, length: number, buckets: number): Peaks {
  const n = bucketCount(length, buckets);
  const max = new Float32Array(n);
  const min = new Float32Array(n);
  const known = blocks.max.length;
  for (let b = 0; b < n; b++) {
    const { start, end } = bucketRange(b, n, length);
    const first = Math.floor(start / blocks.blockFrames);
    const last = Math.min(known - 1, Math.floor((Math.min(end, length) - 1) / blocks.blockFrames));
    if (first > last) continue;
    let hi = -Infinity;
    let lo = Infinity;
    for (let k = first; k <= last; k++) {
      if (blocks.max[k] > hi) hi = blocks.max[k];
      if (blocks.min[k] < lo) lo = blocks.min[k];
    }
    max[b] = hi;
    min[b] = lo;
  }
  return { max, min };
}

/** Four decimals are finer than a pixel at any waveform height and keep the JSON small. */
export function roundPeaks(values: Float32Array): number[] {
  return Array.from(values, (v) => Math.round(v * 10_000) / 10_000);
}
