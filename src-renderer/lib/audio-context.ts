// The player's AudioContext runs at the song's own rate where the browser allows it (Chromium: 3–768 kHz), so stems
// decode without being resampled to the device's rate, previewed parts are read as they are (float-wav.ts), and the
// browser resamples once, at the output. Anything it refuses gets the device's rate.

export function songContext(sampleRate: number | undefined): AudioContext {
  if (sampleRate) {
    try {
      return new AudioContext({ latencyHint: 'playback', sampleRate });
    } catch {
      // A rate this browser does not run contexts at: the device's own.
    }
  }
  return new AudioContext({ latencyHint: 'playback' });
}
