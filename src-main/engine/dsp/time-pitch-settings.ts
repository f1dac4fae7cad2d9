// Tempo and key for practising: what the user asks for, its ranges and when it changes nothing. No Node code here:
// the renderer shows the same ranges and the same "bypassed" rule the engine applies.

/** `tempo`: playback speed relative to the song (0.5 = half speed), pitch unchanged. `semitones`: key change, tempo unchanged. */
export interface TimePitch {
  tempo: number;
  semitones: number;
}

export const TEMPO_RANGE = { min: 0.5, max: 1.5 } as const;
export const SEMITONE_RANGE = { min: -12, max: 12 } as const;
/**
 * The stretcher's analysis block and hop, offline and live alike so both sound the same. An 8-fold overlap (rather
 * than the library's default 4-fold) halves the pitch error of low notes (measured: bench/time-pitch.bench.ts) for
 * about 1.6 times the CPU.
 */
export const STRETCH_BLOCK_MS = 120;
export const STRETCH_INTERVAL_MS = 15;

export const NEUTRAL_TIME_PITCH: Readonly<TimePitch> = Object.freeze({ tempo: 1, semitones: 0 });

/** At the song's own tempo and key the audio is passed through untouched, sample for sample. */
export function isBypassed(tp: TimePitch): boolean {
  return tp.tempo === 1 && tp.semitones === 0;
}

/** Frames a stretched stream has: the song's length divided by the tempo, to the nearest frame. */
export function stretchedLength(frames: number, tempo: number): number {
  return Math.round(frames / tempo);
}

/** Why `tp` cannot be used, or null. Semitones are whole: a key, not a detuning. */
export function timePitchProblem(tp: { tempo: unknown; semitones: unknown }): string | null {
  const { tempo, semitones } = tp;
  if (typeof tempo !== 'number' || !Number.isFinite(tempo) || tempo < TEMPO_RANGE.min || tempo > TEMPO_RANGE.max) {
    return `tempo must be a number from ${TEMPO_RANGE.min} to ${TEMPO_RANGE.max} (1 = the song's own tempo)`;
  }
  if (
    typeof semitones !== 'number' ||
    !Number.isInteger(semitones) ||
    semitones < SEMITONE_RANGE.min ||
    semitones > SEMITONE_RANGE.max
  ) {
    return `semitones must be a whole number from ${SEMITONE_RANGE.min} to ${SEMITONE_RANGE.max}`;
  }
  return null;
}
