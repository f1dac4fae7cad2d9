// Signals of known tempo and bars for the analysis tests, at 44.1 kHz.

const RATE = 44100;

/** A decaying noise burst with a low thump every beat, the bar's first beat louder (a drum machine's accent). */
export function clickTrack(bpm: number, beatsPerBar: number, seconds: number, firstBeat = 0.25): Float32Array {
  const x = new Float32Array(Math.round(seconds * RATE));
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let k = 0; ; k++) {
    const start = Math.round((firstBeat + (k * 60) / bpm) * RATE);
    if (start >= x.length) break;
    const accent = k % beatsPerBar === 0 ? 1 : 0.35;
    for (let i = 0; i < 0.08 * RATE && start + i < x.length; i++) {
      const env = Math.exp(-i / (0.012 * RATE));
      x[start + i] += accent * env * (0.3 * noise() + 0.6 * Math.sin((2 * Math.PI * 60 * i) / RATE));
    }
  }
  return x;
}
