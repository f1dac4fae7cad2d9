// Waveform overview of a stem: min and max per bucket over all channels, so the UI can draw a 10-minute song at
// once without decoding it in the renderer. Either from the stem's samples, or from the extremes a listening copy
// recorded per span of frames as it was written.

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

/** One stem's extremes per `peakFrames` frames from the song's start, as far as they are known. */
export interface SpanExtremes {
  peakFrames: number;
  min: Float32Array;
  max: Float32Array;
}

/** Peaks whose buckets are `bucketFrames` frames each (the last one cut at the song's end). */
export interface SpanPeaks extends Peaks {
  bucketFrames: number;
}

/**
 * At most `buckets` buckets over a song of `length` frames from its spans' extremes. Each bucket is a whole number
 * of spans, so it holds exactly the extremes of its own frames: the buckets are as computePeaks makes them but that
 * their width is rounded up to whole spans (the last one is cut at the song's end). Buckets no known span reaches
 * are 0.
 */
export function peaksFromSpans(spans: SpanExtremes, length: number, buckets: number): SpanPeaks {
  const per = Math.max(1, Math.ceil(length / Math.max(1, buckets) / spans.peakFrames));
  const n = Math.max(1, Math.ceil(length / (per * spans.peakFrames)));
  const max = new Float32Array(n);
  const min = new Float32Array(n);
  const known = spans.max.length;
  for (let b = 0; b < n && b * per < known; b++) {
    let hi = -Infinity;
    let lo = Infinity;
    for (let k = b * per; k < Math.min(known, (b + 1) * per); k++) {
      if (spans.max[k] > hi) hi = spans.max[k];
      if (spans.min[k] < lo) lo = spans.min[k];
    }
    max[b] = hi;
    min[b] = lo;
  }
  return { max, min, bucketFrames: per * spans.peakFrames };
}

/** Four decimals are finer than a pixel at any waveform height and keep the JSON small. */
export function roundPeaks(values: Float32Array): number[] {
  return Array.from(values, (v) => Math.round(v * 10_000) / 10_000);
}
