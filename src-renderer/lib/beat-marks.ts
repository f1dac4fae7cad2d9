// Which beat and bar marks the timeline's ruler draws at a zoom level: bars whenever they stand apart, beats only
// when zoomed in far enough that they do not blur into a grey band.
import type { SongAnalysis } from '../../src-main/api/contract.ts';

/** Marks closer than this many pixels are left out. */
export const MIN_MARK_SPACING_PX = 6;

export interface BeatMark {
  /** Pixels from the song's start. */
  x: number;
  bar: boolean;
}

export function beatMarks(
  a: Pick<SongAnalysis, 'beats' | 'downbeats' | 'bpm' | 'beatsPerBar'> | undefined,
  pxPerSec: number,
): BeatMark[] {
  if (!a) return [];
  const beatPx = (60 / a.bpm) * pxPerSec;
  const bars = new Set(a.downbeats);
  if (beatPx >= MIN_MARK_SPACING_PX) return a.beats.map((t) => ({ x: t * pxPerSec, bar: bars.has(t) }));
  if (beatPx * a.beatsPerBar >= MIN_MARK_SPACING_PX) return a.downbeats.map((t) => ({ x: t * pxPerSec, bar: true }));
  return [];
}
