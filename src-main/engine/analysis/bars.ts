// Bars from accents: a bar's first beat is where the harmony tends to change and the kick drum or bass tends to
// land. Each beat gets an accent (chord change into it plus low-band onset), and the meter (3 or 4 beats) and phase
// whose beats carry the most accent over the others win. 4/4 unless 3/4 is clearly better: most music is in four.
import type { Chromagram } from './types.ts';

/** 3/4 must beat 4/4's accent contrast by this factor to be chosen. */
const TRIPLE_MARGIN = 1.25;

export interface BarGrid {
  beatsPerBar: 3 | 4;
  /** Index into the beats of the first downbeat (0 ≤ first < beatsPerBar). */
  first: number;
}

/**
 * beats: beat times in seconds; low: low-band onset strength at `lowRate` frames per second; chroma: per-frame
 * pitch-class energy at `chroma.rate` frames per second.
 */
export function findBars(beats: number[], low: Float32Array, lowRate: number, chroma: Chromagram): BarGrid {
  if (beats.length < 8) return { beatsPerBar: 4, first: 0 };
  const accent = zscore(beats.map((b) => peakNear(low, b * lowRate)));
  const change = zscore(harmonicChange(beats, chroma));
  for (let i = 0; i < accent.length; i++) accent[i] += change[i];
  const best = (m: 3 | 4) => {
    let top = { first: 0, contrast: -Infinity };
    for (let p = 0; p < m; p++) {
      let on = 0,
        nOn = 0,
        off = 0,
        nOff = 0;
      accent.forEach((a, i) => {
        if (i % m === p) {
          on += a;
          nOn++;
        } else {
          off += a;
          nOff++;
        }
      });
      const contrast = on / nOn - off / nOff;
      if (contrast > top.contrast) top = { first: p, contrast };
    }
    return top;
  };
  const four = best(4);
  const three = best(3);
  return three.contrast > TRIPLE_MARGIN * four.contrast
    ? { beatsPerBar: 3, first: three.first }
    : { beatsPerBar: 4, first: four.first };
}

function peakNear(x: Float32Array, frame: number): number {
  let m = 0;
  for (let i = Math.round(frame) - 2; i <= Math.round(frame) + 2; i++)
    if (i >= 0 && i < x.length) m = Math.max(m, x[i]);
  return m;
}

/** 1 − cosine similarity between the chroma of the beat before each beat and the beat starting at it. */
function harmonicChange(beats: number[], chroma: Chromagram): number[] {
  const span = (from: number, to: number) => {
    const sum = new Float64Array(12);
    const a = Math.max(0, Math.floor(from * chroma.rate));
    const b = Math.min(chroma.frames.length, Math.max(a + 1, Math.floor(to * chroma.rate)));
    for (let t = a; t < b; t++) for (let i = 0; i < 12; i++) sum[i] += chroma.frames[t][i];
    return sum;
  };
  return beats.map((b, i) => {
    if (i === 0 || i === beats.length - 1) return 0;
    const before = span(beats[i - 1], b);
    const after = span(b, beats[i + 1]);
    let dot = 0,
      na = 0,
      nb = 0;
    for (let k = 0; k < 12; k++) {
      dot += before[k] * after[k];
      na += before[k] ** 2;
      nb += after[k] ** 2;
    }
    return na > 0 && nb > 0 ? 1 - dot / Math.sqrt(na * nb) : 0;
  });
}

function zscore(x: number[]): number[] {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const sd = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length) || 1;
  return x.map((v) => (v - mean) / sd);
}
