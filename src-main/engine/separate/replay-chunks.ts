// The chunk loop of a re-render from the estimate cache: no network, so the chunks' DSP is all the work. Each chunk
// goes whole to the renderer (the DSP threads, else this thread): where its record is in the cache file, with the
// chunk's samples; the rendering thread reads and checks the record and takes the mixture's STFT itself. This thread
// only crossfades and writes, keeping one chunk more in flight than there are threads across the whole song, so no
// thread waits on it between chunks (per-batch hand-offs left the threads idle while this one worked:
// bench/rerender.bench.ts).
import type { CachedRecord } from '../cache/estimate-file.ts';
import { CONTRACT } from '../model/manifest.ts';
import type { EpName, SeparationControls } from '../types.ts';
import { readChunk, type LoopTools } from './chunk-loop.ts';
import { ChunkRenderer, type DspRenderer } from './chunk-renderer.ts';
import { chunkWriter } from './chunk-writer.ts';
import type { SegmentSettings } from './segment-settings.ts';
import { minChunkLength, planChunks } from './segments.ts';
import type { SongSamples } from './song-samples.ts';
import type { StemSink } from './stem-sink.ts';

/** A song's estimates from the estimate cache (cache/estimate-replay.ts): one record per chunk, taken in plan order. */
export interface CachedEstimates {
  /** The provider that computed them. */
  readonly ep: EpName;
  /** How the song was cut into chunks when they were made; a re-render cuts it the same way. */
  readonly segments: Pick<SegmentSettings, 'segmentFrames' | 'overlapFrames'>;
  /** Where the next chunk's record is in the cache file; CACHE_CORRUPT when its chunks have another frame count. */
  nextRecord(frames: number): CachedRecord;
}

/** What of the job the replay needs. */
export interface ReplayJob {
  controls: SeparationControls;
  /** Renders chunks on other threads (the DspPool); absent: in this thread. */
  dsp?: DspRenderer;
}

/** Renders every chunk of `song` from `estimates` and writes it to `sinks`, one per stem (`sources`, then leftovers). */
export async function replayChunks(
  song: SongSamples,
  job: ReplayJob,
  estimates: CachedEstimates,
  sources: readonly string[],
  sinks: StemSink[],
  { timed, cancelled, progress, timings, tap, kernels }: LoopTools,
): Promise<void> {
  const plan = planChunks(song.frames, estimates.segments, CONTRACT.hop, minChunkLength(CONTRACT.nFft));
  const write = chunkWriter(plan, sinks, { timed, tap });
  const renderer = job.dsp ?? new ChunkRenderer(kernels);
  const total = plan.chunks.length;
  const ahead = renderer.size + 1;
  const rendering: Promise<Float32Array[][]>[] = [];
  let submitted = 0;
  for (let index = 0; index < total; index++) {
    while (submitted < total && submitted < index + ahead) {
      const chunk = renderer.render(
        {
          kind: 'cached',
          record: estimates.nextRecord(plan.frames),
          sources: [...sources],
          controls: job.controls,
          chunkLength: plan.chunkLength,
          samples: await readChunk(song, plan.chunks[submitted], plan.chunkLength),
        },
        timings,
      );
      chunk.catch(() => {}); // awaited below; a job cancelled or failed meanwhile must not leave an unhandled rejection
      rendering.push(chunk);
      submitted++;
    }
    progress.working('wiener', index, total);
    const signals = await rendering.shift()!;
    await write(index, signals);
    progress.working('encode', index + 1, total);
    cancelled();
  }
}
