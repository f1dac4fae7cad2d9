// The sample rates the engine takes, in one place: the decoder refuses files outside it, the resampler asserts it,
// and the README quotes it. Below 8 kHz a short file becomes hours of audio at the network's 44.1 kHz; above 384 kHz
// there is no music (and no common recorder); the resampler is exact in between.
export const SUPPORTED_SAMPLE_RATES = { min: 8_000, max: 384_000 } as const;

export function isSupportedSampleRate(rate: number): boolean {
  return Number.isInteger(rate) && rate >= SUPPORTED_SAMPLE_RATES.min && rate <= SUPPORTED_SAMPLE_RATES.max;
}

/** "8 to 384 kHz", for messages. */
export function supportedSampleRatesText(): string {
  return `${SUPPORTED_SAMPLE_RATES.min / 1000} to ${SUPPORTED_SAMPLE_RATES.max / 1000} kHz`;
}

/** Above this a song's rate is more than music needs; a codec that cannot store it gets one of the two common rates. */
const HIGHEST_MUSIC_RATE = 48_000;

/**
 * The rate a codec that stores only the rates in `storable` writes a song of `rate` at: the song's own if it can;
 * else the lowest storable rate above it up to 48 kHz, so nothing the song holds is lost; above 48 kHz, 44.1 kHz for
 * the 44.1 kHz family (88.2, 176.4, 352.8 kHz) and 48 kHz for the rest. `storable` must hold 44.1 and 48 kHz.
 */
export function storableRate(rate: number, storable: readonly number[]): number {
  if (storable.includes(rate)) return rate;
  if (rate > HIGHEST_MUSIC_RATE) return rate % 11_025 === 0 ? 44_100 : 48_000;
  return [...storable].sort((a, b) => a - b).find((r) => r >= rate && r <= HIGHEST_MUSIC_RATE) ?? HIGHEST_MUSIC_RATE;
}
