// The first song separated after the engine starts pays for more than its own work: onnxruntime's first run of a
// shape (its plans and allocations), and V8 running the DSP, cache and writer code for the first time on each thread
// (it compiles a function for speed only once it has run). On a 2-core machine with the full-size model, the first
// song's first final frames came 1.66 s after its start against 0.60 s for the next song in the same engine: its
// first network run took 0.72 s against 0.29 s, that chunk's DSP and writes 0.63 s against 0.16 s.
// So the app's warm-up separates a few seconds of generated noise once, as a song is separated (network, estimate
// cache, DSP threads, stems, listening copy), into a temporary folder that it then removes. A job that comes
// meanwhile stops it (JobRunner.run) and takes over whatever it had readied.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from './audio/dither.ts';
import { createStemWriter } from './audio/stem-writer.ts';

const RATE = 44100;
/**
 * Seconds of noise: three chunks of the CPU's plan (256 frames, 16 overlapping), so the network runs both shapes a
 * song's separation starts with: one chunk (the first run), then a batch of two.
 */
export const WARM_SECONDS = 12;

/** Writes `seconds` of quiet stereo noise at 44.1 kHz to `path` as a WAV, with the engine's own stem writer. */
async function writeNoise(path: string, seconds: number, seed = 1): Promise<void> {
  const random = mulberry32(seed);
  const noise = () => Float32Array.from({ length: Math.round(seconds * RATE) }, () => (random() - 0.5) * 0.2);
  const writer = await createStemWriter(path, { format: 'wav', bitDepth: '32f', sampleRate: RATE, channels: 2 });
  try {
    await writer.write([noise(), noise()]);
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
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
      await writeNoise(input, WARM_SECONDS);
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
