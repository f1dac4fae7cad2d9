// Measuring a tone for the time/pitch tests and benchmark: the frequency of the strongest partial, found on the
// Hann-windowed DFT with a search fine enough for a hundredth of a cent.

/** Magnitude of the Hann-windowed DFT of `x` at `freq` Hz. */
function magnitudeAt(x: Float32Array, sampleRate: number, freq: number): number {
  const w = (2 * Math.PI * freq) / sampleRate;
  let re = 0,
    im = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const v = x[i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
    re += v * Math.cos(w * i);
    im -= v * Math.sin(w * i);
  }
  return Math.hypot(re, im);
}

/** Frequency in Hz of the strongest component between `lo` and `hi` Hz. */
export function peakFrequency(x: Float32Array, sampleRate: number, lo: number, hi: number): number {
  const step = sampleRate / x.length; // one DFT bin
  let best = lo,
    bestMag = -1;
  for (let f = lo; f <= hi; f += step / 2) {
    const m = magnitudeAt(x, sampleRate, f);
    if (m > bestMag) [best, bestMag] = [f, m];
  }
  let a = best - step / 2,
    b = best + step / 2;
  while (b - a > 1e-4) {
    // golden-section search on the main lobe
    const c = b - (b - a) / 1.618,
      d = a + (b - a) / 1.618;
    if (magnitudeAt(x, sampleRate, c) > magnitudeAt(x, sampleRate, d)) b = d;
    else a = c;
  }
  return (a + b) / 2;
}

export function centsBetween(freq: number, reference: number): number {
  return 1200 * Math.log2(freq / reference);
}

export function sine(freq: number, sampleRate: number, frames: number, amplitude = 0.5): Float32Array {
  const x = new Float32Array(frames);
  for (let i = 0; i < frames; i++) x[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / sampleRate);
  return x;
}

export function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}
