// A part of a song's audio by seconds of the song's own time: what an export limited to a loop region starts from.
// Pure, so every export (stems, mix, stem file) cuts the same frames.

import type { PcmAudio } from '../types.ts';

/**
 * Frames round(start·rate) to round(end·rate) of every channel (views, not copies); the audio as it is without a
 * region. Exports cut before they stretch and mix, so a part costs what its length costs, not the song's.
 */
export function cutRegion<T extends PcmAudio>(audio: T, region?: { start: number; end: number }): T {
  if (!region) return audio;
  const from = Math.round(region.start * audio.sampleRate);
  const to = Math.round(region.end * audio.sampleRate);
  return { ...audio, channels: audio.channels.map((c) => c.subarray(from, to)) };
}
