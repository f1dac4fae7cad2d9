// The steps after a chunk is rendered, the same for every chunk loop: each stem's signal is crossfaded with the
// chunk before it, in chunk order, and what became final goes to the analysis tap and the stem's sink.
import type { LoopTools } from './chunk-loop.ts';
import { Crossfader, type ChunkPlan } from './segments.ts';
import type { StemSink } from './stem-sink.ts';

/** Takes chunk `index`'s rendered signals, [stem][channel] at the model's rate, in chunk order. */
export type ChunkWrite = (index: number, signals: Float32Array[][]) => Promise<void>;

/** One crossfader per sink; the time spent writing counts as `encode`. */
export function chunkWriter(
  plan: ChunkPlan,
  sinks: StemSink[],
  { timed, tap }: Pick<LoopTools, 'timed' | 'tap'>,
): ChunkWrite {
  const faders = sinks.map(() => new Crossfader(plan, 2));
  return async (index, signals) => {
    for (let s = 0; s < sinks.length; s++) {
      await timed('encode', async () => {
        const samples = faders[s].add(index, signals[s]);
        tap?.add(s, samples);
        return sinks[s].write(samples);
      });
    }
  };
}
