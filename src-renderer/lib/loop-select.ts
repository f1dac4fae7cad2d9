// Where a loop's edges land when dragged on the timeline: on the song's beats when the ruler shows beats, on its
// bars when zoomed out so far that it shows only bars (or nothing), anywhere with Alt held or without an analysis.
import type { SongAnalysis } from '../../src-main/api/contract.ts';
import { MIN_MARK_SPACING_PX } from './beat-marks.ts';
import type { LoopRegion } from './loop.ts';

export interface SnapGrid {
  analysis: Pick<SongAnalysis, 'beats' | 'downbeats' | 'bpm'> | undefined;
  pxPerSec: number;
  /** Alt held: no snapping. */
  free: boolean;
}

/** `seconds` moved to the nearest beat or bar of the grid (unchanged when there is none). */
export function snapTime(seconds: number, grid: SnapGrid): number {
  const a = grid.analysis;
  if (grid.free || !a) return seconds;
  const beatPx = (60 / a.bpm) * grid.pxPerSec;
  const marks = beatPx >= MIN_MARK_SPACING_PX ? a.beats : a.downbeats;
  let best = seconds;
  let distance = Infinity;
  for (const t of marks) {
    const d = Math.abs(t - seconds);
    if (d < distance) [best, distance] = [t, d];
  }
  return best;
}

/** The region between a drag's two ends, snapped, in order; null when both snap to the same point. */
export function selectRegion(from: number, to: number, grid: SnapGrid): LoopRegion | null {
  const a = snapTime(Math.min(from, to), grid);
  const b = snapTime(Math.max(from, to), grid);
  return b > a ? { start: a, end: b } : null;
}
