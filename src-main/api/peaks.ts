// Waveform overview of a stem: min and max per bucket over all channels, so the UI can draw a 10-minute song at
// once without decoding it in the renderer. Either from the stem's samples (whole, or a piece at a time as
// stem-peaks.ts reads a stem file), or from the extremes a listening copy recorded per span of frames as it was
// written.

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
  const peaks = new PeakBuckets(channels[0]?.length ?? 0, buckets);
  peaks.add(channels);
  return peaks.finish();
}

/**
 * computePeaks of a signal handed in pieces of any size, its length known before the first: the same buckets, whose
 * bounds depend on the length alone, and the same numbers. Each channel's extremes of a bucket are kept apart until
 * the bucket is full and then joined in channel order, as computePeaks scans a bucket one channel after another: of
 * equal extremes (0 and -0) the same one is kept.
 */
export class PeakBuckets {
  /** Frames added so far, those past `length` included (they are in no bucket). */
  added = 0;
  private readonly max: Float32Array;
  private readonly min: Float32Array;
  /** The bucket being filled, and the first frame past it. */
  private bucket = 0;
  private end: number;
  /** The bucket's extremes so far, per channel. */
  private readonly hi: number[] = [];
  private readonly lo: number[] = [];

  constructor(
    private readonly length: number,
    buckets: number,
  ) {
    const n = bucketCount(length, buckets);
    this.max = new Float32Array(n);
    this.min = new Float32Array(n);
    this.end = bucketRange(0, n, length).end;
  }

  /** The next frames: planar, every channel as long as the first. */
  add(piece: Float32Array[]): void {
    const frames = piece[0]?.length ?? 0;
    for (let i = 0; i < frames && this.added + i < this.length;) {
      const upto = Math.min(frames, i + this.end - (this.added + i));
      for (const [c, ch] of piece.entries()) {
        let hi = this.hi[c] ?? -Infinity;
        let lo = this.lo[c] ?? Infinity;
        for (let k = i; k < upto; k++) {
          const v = ch[k];
          if (v > hi) hi = v;
          if (v < lo) lo = v;
        }
        this.hi[c] = hi;
        this.lo[c] = lo;
      }
      i = upto;
      if (this.added + i === this.end) this.closeBucket();
    }
    this.added += frames;
  }

  /** The peaks; a bucket that no frame reached is 0. */
  finish(): Peaks {
    if (this.bucket < this.max.length) this.closeBucket();
    return { max: this.max, min: this.min };
  }

  private closeBucket(): void {
    let hi = -Infinity;
    let lo = Infinity;
    for (let c = 0; c < this.hi.length; c++) {
      if (this.hi[c] > hi) hi = this.hi[c];
      if (this.lo[c] < lo) lo = this.lo[c];
      this.hi[c] = -Infinity;
      this.lo[c] = Infinity;
    }
    this.max[this.bucket] = hi === -Infinity ? 0 : hi;
    this.min[this.bucket] = lo === Infinity ? 0 : lo;
    this.bucket++;
    if (this.bucket < this.max.length) this.end = bucketRange(this.bucket, this.max.length, this.length).end;
  }
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
