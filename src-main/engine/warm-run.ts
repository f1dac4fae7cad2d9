// The first song separated after the engine starts pays for more than its own work: onnxruntime's first run of a
// shape (its plans and allocations), and V8 running the DSP, cache and writer code for the first time on each thread
// (it compiles a function for speed only once it has run). On a 2-core machine with the full-size model, the first
// song's first final frames came 1.66 s after its start against 0.60 s for the next song in the same engine: its
// first network run took 0.72 s against 0.29 s, that chunk's DSP and writes 0.63 s against 0.16 s.
// So the app's warm-up separates a few seconds of generated noise once, as a song is separated (network, estimate
// cache, DSP threads, stems, listening copy), into a temporary folder that it then removes. A job that comes
// meanwhile stops it (JobRunner.run) and takes over whatever it had readied.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from './audio/dither.ts';

const RATE = 44100;
/**
 * Seconds of noise: three chunks of the CPU's plan (256 frames, 16 overlapping), so the network runs both shapes a
 * song's separation starts with: one chunk (the first run), then a batch of two.
 */
export const WARM_SECONDS = 12;

/** A 16-bit stereo 44.1 kHz WAV of quiet noise, `seconds` long. */
export function noiseWav(seconds: number, seed = 1): Uint8Array {
  const frames = Math.round(seconds * RATE);
  const data = frames * 4;
  const out = new Uint8Array(44 + data);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + data, true);
  ascii(8, 'WAVEfmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 2, true);
  v.setUint32(24, RATE, true);
  v.setUint32(28, RATE * 4, true);
  v.setUint16(32, 4, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, data, true);
  const random = mulberry32(seed);
  for (let i = 0; i < frames * 2; i++) v.setInt16(44 + 2 * i, Math.round((random() - 0.5) * 6000), true);
  return out;
}

/** A warm-up separation under way: `stop` cancels it and resolves once it has let go of everything. */
export interface WarmRun {
  stop(): Promise<void>;
  /** Resolves when it is over, finished or not; never rejects. */
  readonly done: Promise<void>;
}

/**
 * Runs `separate` on a generated song in a temporary folder (removed afterwards, also on failure or cancel). A
 * warm-up that fails costs nothing: the first job readies the same things and reports what is wrong.
 */
export function startWarmRun(
  separate: (paths: { input: string; dir: string }, signal: AbortSignal) => Promise<unknown>,
): WarmRun {
  const abort = new AbortController();
  const done = (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-warm-up-'));
    try {
      const input = join(dir, 'warm-up.wav');
      await writeFile(input, noiseWav(WARM_SECONDS));
      if (!abort.signal.aborted) await separate({ input, dir }, abort.signal);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })().catch(() => {});
  return {
    done,
    stop: () => {
      abort.abort();
      return done;
    },
  };
}
