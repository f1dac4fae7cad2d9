// The chunk loop of a separation through the network: the prepared song is cut into overlapping chunks, a batch of
// them at a time goes through the STFT and the network, and each chunk's estimates are filtered, inverted and
// written in chunk order (chunk-writer.ts).
import { magnitude, type Spectrogram } from '../dsp/stft.ts';
import { XumxError } from '../errors.ts';
import { CONTRACT } from '../model/manifest.ts';
import type { ModelRunner } from '../model/session.ts';
import type { SeparationControls, Stage } from '../types.ts';
import { readChunk, type LoopTools } from './chunk-loop.ts';
import { renderChunk, type EstimatesChunk } from './chunk-render.ts';
import type { DspRenderer } from './chunk-renderer.ts';
import { chunkWriter } from './chunk-writer.ts';
import type { SegmentSettings } from './segment-settings.ts';
import { minChunkLength, planChunks, type ChunkPlan } from './segments.ts';
import type { SongSamples } from './song-samples.ts';
import type { StemSink } from './stem-sink.ts';

/** What of the job the network's chunk loop needs. */
export interface NetworkJob {
  controls: SeparationControls;
  /** The chunk sizes and batches the session's provider wants. */
  segments: SegmentSettings;
  /** Renders chunks on other threads (the DspPool); absent: in this thread. */
  dsp?: DspRenderer;
  /** Told the song's chunk plan before the first network run (the estimate cache sizes its entry by it). */
  onPlan?(plan: ChunkPlan): void;
}

/** Network share of one chunk's work, for progress (measured: the network dominates on every provider). */
const NETWORK_SHARE = 0.7;

interface PreparedBatch {
  first: number;
  count: number;
  /** [count][2] mixture STFTs, kept for the Wiener filter. */
  mixes: [Spectrogram, Spectrogram][];
  /** [count][2] the chunks' samples, zero-padded to the chunk length. */
  samples: Float32Array[][];
  /** [count, 2, bins, frames] mixture magnitudes: the network's input. */
  input: Float32Array;
}

/**
 * The chunk loop, software-pipelined: while the network computes batch k (on its own thread when the runner has
 * one), this thread filters, inverts and encodes batch k-1 and takes the STFT of batch k+1. With an in-thread
 * runner the same code simply runs one step after another. `listened`: someone may be listening while the song
 * separates (a listening copy is written): the first chunk is rendered before the network starts the next batch, so
 * the two do not share the cores while the listener waits for the first sound.
 */
export async function runChunks(
  song: SongSamples,
  job: NetworkJob,
  model: ModelRunner,
  sinks: StemSink[],
  { timed, cancelled, progress, timings, tap, kernels }: LoopTools,
  listened = false,
): Promise<void> {
  const { hop, bins, nFft } = CONTRACT;
  const plan = planChunks(song.frames, job.segments, hop, minChunkLength(nFft));
  job.onPlan?.(plan);
  const write = chunkWriter(plan, sinks, { timed, tap });
  const batchSize = Math.max(1, job.segments.batch);
  const plane = bins * plan.frames;
  const sources = model.manifest.sources;
  const total = plan.chunks.length;
  let done = 0;
  const report = (stage: Stage) => progress.working(stage, done, total);

  const prepare = (first: number, size: number): Promise<PreparedBatch> =>
    timed('stft', async () => {
      const count = Math.min(size, total - first);
      const input = new Float32Array(count * 2 * plane);
      const mixes: [Spectrogram, Spectrogram][] = [];
      const samples: Float32Array[][] = [];
      for (let b = 0; b < count; b++) {
        const chunk = await readChunk(song, plan.chunks[first + b], plan.chunkLength);
        const spec = chunk.map((ch) => kernels.stft(ch)) as [Spectrogram, Spectrogram];
        if (spec[0].frames !== plan.frames)
          throw new XumxError('INTERNAL', `STFT gave ${spec[0].frames} frames, planned ${plan.frames}`);
        spec.forEach((sp, c) => magnitude(sp, input.subarray((b * 2 + c) * plane, (b * 2 + c + 1) * plane)));
        mixes.push(spec);
        samples.push(chunk);
      }
      return { first, count, mixes, samples, input };
    });

  const launch = (batch: PreparedBatch): Promise<Float32Array> => {
    const running = model.run(batch.input, batch.count, plan.frames);
    running.catch(() => {}); // awaited below; a job cancelled meanwhile must not leave an unhandled rejection
    return running;
  };

  const finish = async (batch: PreparedBatch, estimates: Float32Array): Promise<void> => {
    const task = (b: number, copy: boolean): EstimatesChunk => ({
      kind: 'estimates',
      estimates: sources.map((_, j) => {
        const from = (j * batch.count + b) * 2 * plane;
        return copy ? estimates.slice(from, from + 2 * plane) : estimates.subarray(from, from + 2 * plane);
      }),
      mix: batch.mixes[b],
      sources: [...sources],
      controls: job.controls,
      chunkLength: plan.chunkLength,
      samples: batch.samples[b],
    });
    // With DSP threads the chunks render in parallel on their own copies (the buffers are transferred), as many at
    // a time as there are threads: more in flight would only hold more chunks in memory. Results are crossfaded
    // and written in order below.
    const renders: (Promise<Float32Array[][]> | undefined)[] = [];
    const inFlight = job.dsp ? Math.max(1, job.dsp.size) : 0;
    const submit = (b: number) => {
      if (!job.dsp || b >= batch.count) return;
      const rendering = job.dsp.render(task(b, true), timings);
      rendering.catch(() => {}); // awaited below; a job cancelled meanwhile must not leave an unhandled rejection
      renders[b] = rendering;
    };
    for (let b = 0; b < inFlight; b++) submit(b);
    for (let b = 0; b < batch.count; b++) {
      const index = batch.first + b;
      report('wiener');
      const signals = job.dsp ? await renders[b]! : renderChunk(kernels, task(b, false), timings);
      renders[b] = undefined;
      submit(b + inFlight);
      batch.mixes[b] = undefined as unknown as [Spectrogram, Spectrogram]; // free the chunk's mixture STFT early
      batch.samples[b] = [];
      await write(index, signals);
      done += 1 - NETWORK_SHARE;
      report('encode');
      cancelled();
    }
  };

  const busyAtStart = model.busySeconds();
  let waited = 0;
  // A small first batch (one chunk) makes the first frames final, and audible, after one chunk's network run instead
  // of a whole batch's; the batches after it run while those frames are written.
  let current = await prepare(0, Math.max(1, Math.min(batchSize, job.segments.firstBatch ?? 1)));
  cancelled();
  report('network');
  let running = launch(current);
  while (current) {
    const next = current.first + current.count < total ? await prepare(current.first + current.count, batchSize) : null;
    cancelled();
    const t0 = performance.now();
    const answer = await running;
    waited += (performance.now() - t0) / 1000;
    done += current.count * NETWORK_SHARE;
    cancelled();
    // The first chunk's DSP alone cut the time to its final frames from 1.5-2.8 s to 0.5-0.8 s at load 6-8 on 2
    // cores, for one chunk's DSP time (~0.5 s there) more in the whole separation (bench/first-sound.bench.ts).
    const first = listened && current.first === 0;
    if (next && !first) {
      report('network');
      running = launch(next);
    }
    await finish(current, answer);
    if (next && first) {
      report('network');
      running = launch(next);
    }
    current = next as PreparedBatch;
  }
  // The network's own time: from its thread when it counts it (overlapped with the DSP above), else the wait.
  const busy = model.busySeconds();
  timings.network += busy !== null && busyAtStart !== null ? busy - busyAtStart : waited;
}
