// The playback loop's arithmetic, apart from the Web Audio graph: where a looping playhead is, and whether a run
// that starts at a position loops at all.

/** A part of the song, in song seconds, start < end. */
export interface LoopRegion {
  start: number;
  end: number;
}

/**
 * Whether a run of playback from `from` wraps at the loop: only one that starts before the loop's end reaches it.
 * A run from past the end plays on to the song's end, as the voices started there do not loop.
 */
export function loopApplies(loop: LoopRegion | null, from: number): loop is LoopRegion {
  return loop !== null && from < loop.end;
}

/**
 * The song position of a run started at `from` that has advanced to the unwrapped `raw`: once past the loop's end it
 * is back inside the loop, as far past its start as `raw` is past the end, modulo the loop's length.
 */
export function wrappedPosition(loop: LoopRegion | null, from: number, raw: number): number {
  if (!loopApplies(loop, from) || raw < loop.end) return raw;
  return loop.start + ((raw - loop.start) % (loop.end - loop.start));
}

/** A stretcher's loop fields for a run from `from` (start = end turns its loop off). */
export function stretchLoop(loop: LoopRegion | null, from: number): { loopStart: number; loopEnd: number } {
  return loopApplies(loop, from) ? { loopStart: loop.start, loopEnd: loop.end } : { loopStart: 0, loopEnd: 0 };
}
