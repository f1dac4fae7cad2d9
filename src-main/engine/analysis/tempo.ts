// Tempo from the onset envelope's autocorrelation, read through a comb (a beat period also repeats at two, three
// and four periods) and weighed by a prior around 120 BPM, where most music's beat is felt. The prior alone would
// pull a 70 BPM ballad to 140; the octave check below asks the music itself which level is the beat.

export const MIN_BPM = 40;
export const MAX_BPM = 240;
/** Centre and width (in octaves) of the tempo prior. */
const PRIOR_BPM = 120;
const PRIOR_OCTAVES = 1;
const COMB_WEIGHTS = [1, 0.5, 0.33, 0.25];
/** Candidate periods are tried this many frames apart. */
const SCAN_STEP = 0.1;

export interface TempoEstimate {
  bpm: number;
  /** Beat period in onset frames (fractional). */
  period: number;
  /** Autocorrelation at the period relative to lag 0, in [0, 1]: how regular the onsets are at this tempo. */
  confidence: number;
}

/** Normalised autocorrelation of x for lags 0..maxLag (each lag's sum divided by its number of terms). */
export function autocorrelation(x: Float32Array, maxLag: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (const v of x) mean += v / n;
  const acf = new Float64Array(maxLag + 1);
  for (let lag = 0; lag <= maxLag && lag < n; lag++) {
    let s = 0;
    for (let i = lag; i < n; i++) s += (x[i] - mean) * (x[i - lag] - mean);
    acf[lag] = s / (n - lag);
  }
  const zero = acf[0] || 1;
  for (let lag = 0; lag <= maxLag; lag++) acf[lag] /= zero;
  return acf;
}

/** acf at a fractional lag, linearly interpolated; 0 past the end. */
function at(acf: Float64Array, lag: number): number {
  const i = Math.floor(lag);
  if (i + 1 >= acf.length) return 0;
  const f = lag - i;
  return acf[i] * (1 - f) + acf[i + 1] * f;
}

export function tempoPrior(bpm: number): number {
  const octaves = Math.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES;
  return Math.exp(-0.5 * octaves * octaves);
}

/** The comb's answer for one period: the autocorrelation at the period and its first multiples. */
export function combScore(acf: Float64Array, period: number): number {
  let s = 0;
  COMB_WEIGHTS.forEach((w, k) => {
    s += w * Math.max(0, at(acf, (k + 1) * period));
  });
  return s;
}

/** The best-scoring beat period among the lags of MIN_BPM..MAX_BPM, refined to a fraction of a frame. */
export function estimateTempo(envelope: Float32Array, frameRate: number): TempoEstimate | null {
  const shortest = (60 / MAX_BPM) * frameRate;
  const longest = (60 / MIN_BPM) * frameRate;
  const maxLag = Math.ceil(longest * COMB_WEIGHTS.length) + 2;
  if (envelope.length < 2 * longest) return null;
  const acf = autocorrelation(envelope, maxLag);
  const score = (p: number) => combScore(acf, p) * tempoPrior((60 * frameRate) / p);
  let best = -1;
  let bestScore = -Infinity;
  // A fine grid: the comb reads the autocorrelation at four multiples of the period, where a whole-frame error grows
  // fourfold and misses the narrow peaks.
  for (let p = shortest; p <= longest; p += SCAN_STEP) {
    const s = score(p);
    if (s > bestScore) {
      bestScore = s;
      best = p;
    }
  }
  if (best < 0 || bestScore <= 0) return null;
  const period = sharpen(envelope, refine(score, best));
  return { bpm: (60 * frameRate) / period, period, confidence: Math.max(0, Math.min(1, at(acf, period))) };
}

/** Golden-section search for the score's maximum within a scan step of p. */
export function refine(score: (p: number) => number, p: number): number {
  let a = p - SCAN_STEP;
  let b = p + SCAN_STEP;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 24; i++) {
    const c = b - g * (b - a);
    const d = a + g * (b - a);
    if (score(c) >= score(d)) b = d;
    else a = c;
  }
  return (a + b) / 2;
}

/** Multiples of the period at which its estimate is read again, each time k times more precisely. */
const SHARPEN_MULTIPLES = [4, 16, 64];

/**
 * A beat period read from one lag is precise to a fraction of a frame, which over a few minutes of beats adds up
 * to a beat tracker falling off the grid. The autocorrelation peak near k periods gives the period k times more
 * precisely: each step looks within a quarter period of where the last estimate puts the k-th repetition.
 */
export function sharpen(x: Float32Array, period: number): number {
  const n = x.length;
  let mean = 0;
  for (const v of x) mean += v / n;
  const acfAt = (lag: number) => {
    let s = 0;
    for (let i = lag; i < n; i++) s += (x[i] - mean) * (x[i - lag] - mean);
    return s / (n - lag);
  };
  for (const k of SHARPEN_MULTIPLES) {
    const centre = k * period;
    if (centre + period > n / 2) break;
    const lo = Math.max(1, Math.floor(centre - period / 4));
    const hi = Math.ceil(centre + period / 4);
    const values = new Float64Array(hi - lo + 3);
    for (let lag = lo - 1; lag <= hi + 1; lag++) values[lag - lo + 1] = acfAt(lag);
    let peak = lo;
    for (let lag = lo; lag <= hi; lag++) if (values[lag - lo + 1] > values[peak - lo + 1]) peak = lag;
    const [a, b, c] = [values[peak - lo], values[peak - lo + 1], values[peak - lo + 2]];
    const curvature = a - 2 * b + c;
    const offset = curvature < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / curvature)) : 0;
    period = (peak + offset) / k;
  }
  return period;
}
