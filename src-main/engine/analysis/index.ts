// Song analysis: tempo, beats, bars and key, from plain arrays. The rhythm signal (drums and bass, or the mix)
// gives onsets → tempo → beats → bars; the harmony signal (the mix without drums, or the mix) gives the key and
// the chord changes the bars are placed by. Pure: the pipeline hands it the audio and keeps the result.
import type { SongAnalysis } from '../types.ts';
import { findBars } from './bars.ts';
import { onTheBeat, trackBeats } from './beats.ts';
import { toAnalysisRate, type MonoSignal } from './decimate.ts';
import { chromagram, estimateKey, songChroma } from './key.ts';
import { ONSET_HOP, onsetEnvelope } from './onset.ts';
import { estimateTempo } from './tempo.ts';

export { toAnalysisRate, type MonoSignal } from './decimate.ts';

/** Shorter songs hold too few beats to measure a tempo by. */
export const MIN_ANALYSIS_SECONDS = 6;
/**
 * Longer ones (a DJ set, a recorded concert) are not measured: the whole-song spectrograms would take gigabytes, and
 * one tempo and key rarely describe them.
 */
export const MAX_ANALYSIS_SECONDS = 20 * 60;

/** Whether a song of this length is measured at all. */
export function measurable(seconds: number): boolean {
  return seconds >= MIN_ANALYSIS_SECONDS && seconds <= MAX_ANALYSIS_SECONDS;
}
/** Chroma for bar placement: 2048-sample frames every 512 (46 ms at 11 kHz), fine enough to split beats. */
const BAR_CHROMA_N_FFT = 2048;
const BAR_CHROMA_HOP = 512;

export interface AnalysisInput {
  rhythm: MonoSignal;
  harmony: MonoSignal;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The song's tempo, beats, bars and key; null when it is too short or holds no onsets to measure. */
export function analyzeSong({ rhythm, harmony }: AnalysisInput): SongAnalysis | null {
  if (!measurable(rhythm.samples.length / rhythm.rate)) return null;
  const onsets = onsetEnvelope(rhythm);
  const tempo = estimateTempo(onsets.strength, onsets.frameRate);
  if (!tempo) return null;
  // Flux at frame t measures the change from frame t − 1: the onset lies half a hop before t's centre.
  const lag = ONSET_HOP / 2 / rhythm.rate;
  const frames = onTheBeat(trackBeats(onsets.strength, tempo.period), onsets.low, tempo.period);
  const beats = frames.map((f) => Math.max(0, f / onsets.frameRate - lag));
  const barChroma = {
    rate: harmony.rate / BAR_CHROMA_HOP,
    frames: chromagram(harmony, BAR_CHROMA_N_FFT, BAR_CHROMA_HOP),
  };
  const bars = findBars(beats, onsets.low, onsets.frameRate, barChroma);
  const key = estimateKey(songChroma(chromagram(harmony)));
  return {
    bpm: Math.round(tempo.bpm * 100) / 100,
    beats: beats.map(round3),
    downbeats: beats.filter((_, i) => i % bars.beatsPerBar === bars.first).map(round3),
    beatsPerBar: bars.beatsPerBar,
    key: key ? { tonic: key.tonic, mode: key.mode } : null,
    confidence: { tempo: round3(tempo.confidence), key: key ? round3(key.confidence) : 0 },
  };
}

/** Analyses a mix alone (no stems): the same signal for rhythm and harmony. */
export function analyzeMix(channels: Float32Array[], rate: number): SongAnalysis | null {
  const mono = toAnalysisRate(channels, rate);
  return analyzeSong({ rhythm: mono, harmony: mono });
}
