// A count-in: one bar of clicks before playback starts, at the song's measured tempo times the tempo control, so
// the first beat heard lands where the next click would. The times are pure; scheduleClicks puts them on a context.
import type { SongAnalysis } from '../../src-main/api/contract.ts';

export type Meter = Pick<SongAnalysis, 'bpm' | 'beatsPerBar'>;

export interface Click {
  /** Context time, seconds. */
  time: number;
  /** The bar's first beat. */
  accent: boolean;
}

const CLICK_S = 0.03;
const CLICK_GAIN = 0.4;

/** Seconds of one bar at `tempo` times the song's speed. */
export function countInSeconds(m: Meter, tempo: number): number {
  return (m.beatsPerBar * 60) / (m.bpm * tempo);
}

/** The clicks of one bar ending at `startAt`, where the song starts. */
export function countInClicks(m: Meter, tempo: number, startAt: number): Click[] {
  const beat = 60 / (m.bpm * tempo);
  return Array.from({ length: m.beatsPerBar }, (_, i) => ({
    time: startAt - (m.beatsPerBar - i) * beat,
    accent: i === 0,
  }));
}

/** Short sine blips at the clicks' times, straight to `destination`; returns what silences those still to come. */
export function scheduleClicks(context: BaseAudioContext, destination: AudioNode, clicks: Click[]): () => void {
  const voices = clicks.map((c) => {
    const osc = context.createOscillator();
    const env = context.createGain();
    osc.frequency.value = c.accent ? 1760 : 1320;
    env.gain.setValueAtTime(CLICK_GAIN, c.time);
    env.gain.linearRampToValueAtTime(0, c.time + CLICK_S);
    osc.connect(env).connect(destination);
    osc.start(c.time);
    osc.stop(c.time + CLICK_S);
    return { osc, env };
  });
  return () => {
    for (const { osc, env } of voices) {
      osc.stop(context.currentTime);
      env.disconnect();
    }
  };
}
