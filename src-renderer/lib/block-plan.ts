// Which parts of a song the player needs next, apart from the Web Audio graph: the run of frames playback goes
// through from a position (wrapping at a loop, stopping at the end), and the blocks that run touches, in the order
// they are heard, so the nearest is asked for first. All in frames at the song's rate.

/** Frames [start, end) of the song. */
export interface FrameSpan {
  start: number;
  end: number;
}

/**
 * The spans a run from `from` plays through over its next `frames` frames: straight on, or (while a loop applies:
 * the run starts before the loop's end) to the loop's end and then over the loop again and again; never past `end`.
 */
export function playOrder(from: number, frames: number, end: number, loop: FrameSpan | null): FrameSpan[] {
  const out: FrameSpan[] = [];
  let at = Math.max(0, from);
  let left = frames;
  const looping = loop !== null && loop.end > loop.start && at < loop.end;
  while (left > 0) {
    const limit = looping && at < loop.end ? Math.min(loop.end, end) : end;
    if (at >= limit) break;
    const stop = Math.min(limit, at + left);
    out.push({ start: at, end: stop });
    left -= stop - at;
    if (looping && stop === loop.end) at = loop.start;
    else if (stop >= end) break;
    else at = stop;
  }
  return out;
}

/** The index of each block (of `blockFrames` frames, from frame 0) the spans touch, in the order heard, each once. */
export function blocksOf(spans: readonly FrameSpan[], blockFrames: number): number[] {
  const out: number[] = [];
  for (const s of spans) {
    for (let i = Math.floor(s.start / blockFrames); i * blockFrames < s.end; i++) if (!out.includes(i)) out.push(i);
  }
  return out;
}
