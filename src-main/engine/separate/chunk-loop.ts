// What both chunk loops (network-chunks.ts, replay-chunks.ts) and the song's preparation share: the tools a job
// passes down (timings, cancel, progress, the analysis tap, this thread's kernels) and a chunk read back from the
// prepared song.
import type { DspKernels } from '../dsp/kernels/index.ts';
import type { StemTap } from '../analysis/stem-tap.ts';
import type { Timings } from '../types.ts';
import type { ProgressTracker } from './progress.ts';
import type { SongSamples } from './song-samples.ts';

export interface LoopTools {
  /** Runs `work`, adding its seconds to `timings[stage]`. */
  timed<T>(stage: keyof Timings, work: () => T | Promise<T>): Promise<T>;
  /** Throws CANCELLED once the job's signal has fired. */
  cancelled(): void;
  progress: ProgressTracker;
  timings: Timings;
  /** Hears every stem's finished samples for the song's analysis; null when the analysis is known already. */
  tap: StemTap | null;
  /** This thread's DSP kernels, loaded before the song was prepared. */
  kernels: DspKernels;
}

/** The chunk's samples per channel, zero-padded to the plan's chunk length (only the last chunk is ever short). */
export async function readChunk(
  song: SongSamples,
  { start, length }: { start: number; length: number },
  chunkLength: number,
): Promise<Float32Array[]> {
  const samples = await song.read(start, chunkLength);
  if (length < chunkLength) for (const ch of samples) ch.fill(0, length);
  return samples;
}
