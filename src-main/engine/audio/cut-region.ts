// A part of a song's audio by seconds of the song's own time: what an export limited to a loop region starts from.
// Pure, so every export (stems, mix, stem file) cuts the same frames.

import type { PcmAudio } from '../types.ts';

/**
 * Frames round(start·rate) to round(end·rate) of every channel (views, not copies); the audio as it is without a
 * region. Exports cut before they stretch and mix, so a part costs what its length costs, not the song's.
 */
export function cutRegion<T extends PcmAudio>(audio: T, region?: { start: number; end: number }): T {
  if (!region) return audio;
  const { from, to } = regionFrames(region, audio.sampleRate);
  return { ...audio, channels: audio.channels.map((c) => c.subarray(from, to)) };
}

/** The frames [from, to) a region is at `sampleRate` (to: Infinity without a region), for reading them in pieces. */
export function regionFrames(region: { start: number; end: number } | undefined, sampleRate: number) {
  if (!region) return { from: 0, to: Infinity };
  return { from: Math.round(region.start * sampleRate), to: Math.round(region.end * sampleRate) };
}
