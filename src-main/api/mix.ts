// Renders the current mix of a song's stems: each stem scaled by its effective gain (mute, solo and master
// already applied by the caller) and summed. Planar float32, the stems' own sample rate.

import type { PcmAudio } from '../engine/types.ts';

export type StemAudio = PcmAudio;

export function mixStems(stems: StemAudio[], gains: number[]): StemAudio {
  if (stems.length === 0) throw new Error('mixStems needs at least one stem');
  if (gains.length !== stems.length) throw new Error('mixStems needs one gain per stem');
  const sampleRate = stems[0].sampleRate;
  const channelCount = Math.max(...stems.map((s) => s.channels.length));
  const length = Math.max(...stems.map((s) => s.channels[0]?.length ?? 0));
  const out = Array.from({ length: channelCount }, () => new Float32Array(length));
  stems.forEach((stem, k) => {
    if (stem.sampleRate !== sampleRate) throw new Error('stems of one song must share a sample rate');
    const g = gains[k];
    // Muted, or nothing to add (a stem without channels).
    if (g === 0 || stem.channels.length === 0) return;
    for (let c = 0; c < channelCount; c++) {
      // A mono stem plays on every output channel.
      const src = stem.channels[Math.min(c, stem.channels.length - 1)];
      const dst = out[c];
      for (let i = 0; i < src.length; i++) dst[i] += g * src[i];
    }
  });
  return { sampleRate, channels: out };
}
