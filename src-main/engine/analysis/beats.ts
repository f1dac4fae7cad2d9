// Beat tracking by dynamic programming (after Ellis, "Beat tracking by dynamic programming", 2007): the beats are
// the frames that together collect the most onset strength while their spacing stays close to the tempo's period.
// Each frame's best score is its onset strength plus the best predecessor's score, minus a penalty growing with the
// squared log-ratio between their distance and the period.

/** How strictly beats keep the period: higher holds the tempo, lower follows the onsets. */
const TIGHTNESS = 300;

/**
 * Beat frames (fractional: each refined to its local onset peak's centre) for an onset envelope and a period in
 * frames. Beats before the first and after the last real onset are dropped.
 */
export function trackBeats(strength: Float32Array, period: number): number[] {
  const n = strength.length;
  if (n === 0 || !(period > 1)) return [];
  const score = new Float64Array(n);
  const from = new Int32Array(n).fill(-1);
  const nearest = Math.round(period / 2);
  const farthest = Math.round(2 * period);
  const penalty = new Float64Array(farthest + 1);
  for (let d = nearest; d <= farthest; d++) penalty[d] = TIGHTNESS * Math.log(d / period) ** 2;
  for (let t = 0; t < n; t++) {
    let best = 0;
    let link = -1;
    for (let d = nearest; d <= farthest && d <= t; d++) {
      const s = score[t - d] - penalty[d];
      if (link < 0 || s > best) {
        best = s;
        link = t - d;
      }
    }
    score[t] = strength[t] + (link >= 0 && best > 0 ? best : 0);
    from[t] = link >= 0 && best > 0 ? link : -1;
  }
  // The path ends on the best-scoring frame of the last period.
  let end = n - 1;
  for (let t = Math.max(0, n - Math.ceil(period)); t < n; t++) if (score[t] > score[end]) end = t;
  const beats: number[] = [];
  for (let t = end; t >= 0; t = from[t]) beats.push(t);
  beats.reverse();
  return trimSilentEnds(strength, beats);
}

/** Drops beats in the leading and trailing stretches where nothing sounds. */
function trimSilentEnds(strength: Float32Array, beats: number[]): number[] {
  let first = 0;
  let last = strength.length - 1;
  const threshold = 0.5;
  while (first < strength.length && strength[first] < threshold) first++;
  while (last > 0 && strength[last] < threshold) last--;
  return beats.filter((b) => b >= first - 2 && b <= last + 2);
}

/** Low-band onsets this much stronger halfway between beats than on them mean the tracker is on the off-beats. */
const OFFBEAT_RATIO = 1.5;

/**
 * Syncopated music (a rhumba's anticipations, a reggae skank) can put the loudest onsets between the beats, and the
 * tracker follows them. Kick drum and bass mark the beat itself in nearly every style, so when the low band is
 * clearly stronger halfway between the tracked beats, the beats move by half a period.
 */
export function onTheBeat(beats: number[], low: Float32Array, period: number): number[] {
  if (beats.length < 4) return beats;
  const near = (f: number) => {
    let m = 0;
    for (let i = Math.round(f) - 2; i <= Math.round(f) + 2; i++) if (i >= 0 && i < low.length) m = Math.max(m, low[i]);
    return m;
  };
  let on = 0;
  let between = 0;
  for (let i = 0; i < beats.length; i++) {
    on += near(beats[i]);
    between += near(beats[i] + period / 2);
  }
  if (between <= OFFBEAT_RATIO * on) return beats;
  return beats.map((b) => b + period / 2).filter((b) => b < low.length);
}
