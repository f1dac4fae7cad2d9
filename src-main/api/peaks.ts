// Waveform overview of a stem: min and max per bucket over all channels, so the UI can draw a 10-minute song at
// once without decoding it in the renderer.

export interface Peaks {
  /** Per bucket, the largest sample of any channel. */
  max: Float32Array;
  /** Per bucket, the smallest sample of any channel. */
  min: Float32Array;
}

/** Splits `length` samples into `buckets` nearly equal runs and keeps the extremes of each. */
export function computePeaks(channels: Float32Array[], buckets: number): Peaks {
  const length = channels[0]?.length ?? 0;
  const n = Math.max(1, Math.min(buckets, Math.max(1, length)));
  const max = new Float32Array(n);
  const min = new Float32Array(n);
  for (let b = 0; b < n; b++) {
    const start = Math.floor((b * length) / n);
    const end = Math.max(start + 1, Math.floor(((b + 1) * length) / n));
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

/** Four decimals are finer than a pixel at any waveform height and keep the JSON small. */
export function roundPeaks(values: Float32Array): number[] {
  return Array.from(values, (v) => Math.round(v * 10_000) / 10_000);
}
