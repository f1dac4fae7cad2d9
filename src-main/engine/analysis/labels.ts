// How a song's analysis reads to a person, the same in the app and on the command line. No Node imports: the
// renderer uses it too.
import { PITCH_CLASSES, type SongAnalysis } from '../types.ts';

/** "A minor", "Eb major"; null without a key. */
export function keyName(a: Pick<SongAnalysis, 'key'>): string | null {
  return a.key ? `${a.key.tonic} ${a.key.mode}` : null;
}

/** The key `semitones` away from the song's ("A minor" +2 → "B minor"); null without a key. */
export function shiftedKeyName(a: Pick<SongAnalysis, 'key'>, semitones: number): string | null {
  if (!a.key) return null;
  const at = PITCH_CLASSES.indexOf(a.key.tonic);
  return `${PITCH_CLASSES[(((at + semitones) % 12) + 12) % 12]} ${a.key.mode}`;
}

/** "120 BPM · 4/4 · A minor": tempo rounded to a tenth, meter, key. */
export function analysisLabel(a: SongAnalysis): string {
  const bpm = Math.round(a.bpm * 10) / 10;
  return [`${bpm} BPM`, `${a.beatsPerBar}/4`, keyName(a)].filter(Boolean).join(' · ');
}

/** "tempo 70 %, key 85 %": how clearly the music showed each (the analysis' own measure, not a probability). */
export function confidenceLabel(a: SongAnalysis): string {
  return `tempo ${Math.round(a.confidence.tempo * 100)} %, key ${Math.round(a.confidence.key * 100)} %`;
}
