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
