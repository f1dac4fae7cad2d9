// The gain schedule of a swap between two renders of the same stem at the playhead (a re-render or the A/B
// switch). The new source starts at the very instant the old one begins to fade, from the same song position, so
// nothing goes silent; over CROSSFADE_S the old fades out while the new fades in, so the change cannot click.
// Linear (equal-gain), not equal-power: both renders are mostly the same waveform (strongly correlated), so gains
// that sum to 1 keep the level steady, where equal-power gains would bulge by up to 3 dB in the middle.
// Pure: the player turns the points into AudioParam automation (setValueAtTime + linearRampToValueAtTime).

export const CROSSFADE_S = 0.03;

/** One automation point: context time in seconds, linear gain. */
export interface GainPoint {
  time: number;
  value: number;
}

export interface CrossfadePlan {
  /** When the new source starts and both fades begin (context seconds). */
  start: number;
  /** The new source's gain, 0 → 1. */
  fadeIn: GainPoint[];
  /** The old source's gain, 1 → 0. */
  fadeOut: GainPoint[];
  /** When the old source stops: the end of its fade, never earlier, so it is silent when cut. */
  stopOld: number;
}

/**
 * `fromGain`: the old source's gain at `start` — 1, unless it is itself still fading in from a swap moments before
 * (a quick double A/B click), when starting its fade-out at 1 would jump up.
 */
export function planCrossfade(start: number, seconds = CROSSFADE_S, fromGain = 1): CrossfadePlan {
  const end = start + Math.max(0, seconds);
  return {
    start,
    fadeIn: [
      { time: start, value: 0 },
      { time: end, value: 1 },
    ],
    fadeOut: [
      { time: start, value: fromGain },
      { time: end, value: 0 },
    ],
    stopOld: end,
  };
}

/** A source that only appears (a stem the new render adds): fades in, nothing fades out. */
export function planFadeIn(start: number, seconds = CROSSFADE_S): GainPoint[] {
  return planCrossfade(start, seconds).fadeIn;
}

/**
 * The gain a schedule gives at time t, as Web Audio evaluates setValueAtTime followed by linear ramps: the first
 * value before the first point, straight lines between points, the last value after the last point.
 */
export function gainAt(points: readonly GainPoint[], t: number): number {
  if (points.length === 0) return 1;
  if (t <= points[0].time) return points[0].value;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1],
      b = points[i];
    if (t <= b.time)
      return b.time === a.time ? b.value : a.value + ((b.value - a.value) * (t - a.time)) / (b.time - a.time);
  }
  return points[points.length - 1].value;
}
