// One song through the engine: decode → stereo → 44.1 kHz → overlapping chunks → STFT → network (chunks batched)
// → Wiener → ISTFT → crossfade → back to the input's rate → stem writers → rename when all are complete.
// Memory stays bounded by one batch of chunks: no whole-song spectrogram of any source is ever held.
import { stat } from 'node:fs/promises';
import { resample, createResampler } from '../dsp/resample.ts';
import { loadDspKernels } from '../dsp/kernels/index.ts';
import { magnitude, type Spectrogram } from '../dsp/stft.ts';
import { renderChunk, type ChunkTask, type ChunkTimes } from './chunk-render.ts';
import { toStereo } from '../audio/channels.ts';
import { stemTags, type AudioTags } from '../audio/tags.ts';
import { XumxError, asXumxError } from '../errors.ts';
import { CONTRACT } from '../model/manifest.ts';
import type { ModelRunner } from '../model/session.ts';
import type { CachedRecord } from '../cache/estimate-file.ts';
import type { ThreadedModelRunner } from '../model/threaded.ts';
import type { BitDepth, ListenCopyHooks, OutputFormat, Progress, SeparationControls, SeparationOk, SongAnalysis, Stage, Timings } from '../types.ts';
import { StemTap } from '../analysis/stem-tap.ts';
import { measurable } from '../analysis/index.ts';
import { checkOutputWritable, StemOutputs } from './outputs.ts';
import { ProgressTracker } from './progress.ts';
import { Crossfader, minChunkLength, planChunks, type ChunkPlan, type SegmentSettings } from './segments.ts';
import { StemSink, type StemWriterFactory } from './stem-sink.ts';
import { ListeningCopy } from './listening-copy.ts';
import { TimePitchStream, type TimePitch } from '../dsp/time-pitch.ts';

export interface DecodedInput {
  sampleRate: number;
  channels: Float32Array[];
  notices: string[];
  /** Written into every stem, the stem's name added to the title. */
  tags?: AudioTags;
}

/** Side effects the pipeline needs, passed in so tests can use in-memory fakes. */
export interface PipelineDeps {
  decode(path: string): Promise<DecodedInput>;
  createStemWriter: StemWriterFactory;
  /** Where prepared songs are kept between jobs; absent: every job decodes its input. */
  songs?: SongMemo;
}

export interface PipelineJob {
  input: string;
  outDir: string;
  format: OutputFormat;
  bitDepth: BitDepth;
  controls: SeparationControls;
  segments: SegmentSettings;
  /** Tempo and key the stems are written at; absent: the song's own. */
  timePitch?: TimePitch;
  /** Renders chunks on other threads (re-renders from the estimate cache); absent: in this thread. */
  dsp?: DspRenderer;
  /** The song's analysis when it was measured before (kept with the estimate cache); absent: measured now. */
  analysis?: SongAnalysis | null;
}

/** What the pipeline needs of the DspPool. */
export interface DspRenderer {
  render(task: ChunkTask, times?: ChunkTimes): Promise<Float32Array[][]>;
  readonly size?: number;
}

export interface PipelineHooks {
  onProgress?(p: Progress): void;
  /** Also write the stems, as they become final, into a listening copy (listening-copy.ts). */
  listen?: ListenCopyHooks;
  signal?: AbortSignal;
}

export const DEFAULT_CONTROLS: SeparationControls = { wienerIterations: 1, softmask: false, residual: false };

/** Network share of one chunk's work, for progress (measured: the network dominates on every provider). */
const NETWORK_SHARE = 0.7;

export async function separateFile(job: PipelineJob, model: ModelRunner, deps: PipelineDeps, hooks: PipelineHooks = {}): Promise<SeparationOk> {
  const { input } = job;
  const timings: Timings = { decode: 0, stft: 0, network: 0, wiener: 0, istft: 0, encode: 0 };
  const timed = async <T>(stage: keyof Timings, work: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      timings[stage] += (performance.now() - t0) / 1000;
    }
  };
  const cancelled = () => {
    if (hooks.signal?.aborted) throw new XumxError('CANCELLED', `${input}: cancelled`, input);
  };
  const progress = new ProgressTracker((p) => hooks.onProgress?.(p));

  await checkOutputWritable(job.outDir);
  await loadDspKernels();
  cancelled();
  progress.preparing('decode', 0);
  const key = deps.songs ? await songKey(input) : null;
  const prepared = (key ? deps.songs!.get(key) : undefined) ?? await prepareSong(input, deps, timed, cancelled, progress);
  if (key) deps.songs!.set(key, prepared);
  const { song, sampleRate, inputLength } = prepared;
  const rate = CONTRACT.sampleRate;
  const notices = [...prepared.notices];
  cancelled();
  progress.preparing('stft', 1);

  const manifest = model.manifest;
  const stems = job.controls.residual ? [...manifest.sources, 'residual'] : [...manifest.sources];
  const outputs = await StemOutputs.create(job.outDir, input, stems, job.format);
  notices.push(...outputs.notices);
  const sinks: StemSink[] = [];
  let copy: ListeningCopy | null = null;
  const tap = job.analysis === undefined && measurable(inputLength / sampleRate) ? new StemTap(stems, rate) : null;
  let analysis = job.analysis ?? null;
  try {
    if (hooks.listen) copy = await ListeningCopy.create(hooks.listen.path, stems, sampleRate, inputLength, hooks.listen.onReady);
    for (const [index, stem] of stems.entries()) {
      const resampler = sampleRate === rate ? null : await createResampler(rate, sampleRate, 2);
      try {
        const writer = await deps.createStemWriter(outputs.tempPath(stem), {
          format: job.format, bitDepth: job.bitDepth, sampleRate, channels: 2, tags: stemTags(prepared.tags, stem), shownAs: outputs.paths[stem],
        });
        const stretch = job.timePitch ? await TimePitchStream.create(2, sampleRate, job.timePitch) : null;
        const listen = copy ? (planar: Float32Array[]) => copy!.add(index, planar) : null;
        sinks.push(new StemSink(writer, resampler, inputLength, 2, stretch?.bypassed ? null : stretch, listen));
      } catch (err) {
        resampler?.destroy();
        throw err;
      }
    }
    await runChunks(song, job, model, stems, sinks, { timed, cancelled, progress, timings, tap });
    cancelled();
    progress.finishing();
    await timed('encode', async () => {
      const finished = sinks.splice(0);
      for (const sink of finished) await sink.finish();
      await copy?.finish();
      await outputs.commit();
      notices.push(...writerNotices(stems, finished.map((s) => s.notices)));
    });
    // The analysis is an extra: a problem in it costs the tempo and key, never the stems.
    if (tap) {
      try {
        analysis = tap.analyze(song);
      } catch (err) {
        notices.push(`tempo and key not measured: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    for (const sink of sinks) await sink.abort().catch(() => {});
    await copy?.abort().catch(() => {});
    await outputs.discard();
    throw err instanceof XumxError ? err : asXumxError(err, input);
  }
  progress.done();
  return {
    input,
    ok: true,
    stems: { ...outputs.paths },
    sampleRate,
    duration: inputLength / sampleRate,
    modelId: manifest.id,
    ep: model.ep,
    epSkipped: [...model.epSkipped],
    timings,
    notices,
    ...songTitle(prepared.tags),
    ...(analysis ? { analysis } : {}),
  };
}

/** The stem writers' notices, each said once with the stems it is about: "vocals, bass: clipped …". */
function writerNotices(stems: string[], perStem: (readonly string[])[]): string[] {
  const byText = new Map<string, string[]>();
  perStem.forEach((notices, i) => { for (const n of notices) byText.set(n, [...(byText.get(n) ?? []), stems[i]]); });
  return [...byText].map(([text, names]) => `${names.join(', ')}: ${text}`);
}

function songTitle(tags: AudioTags): Pick<SeparationOk, 'title' | 'artist'> {
  return { ...(tags.title ? { title: tags.title } : {}), ...(tags.artist ? { artist: tags.artist } : {}) };
}

/** A song ready for the chunk loop: stereo at the model's rate, and what the outputs need to know of the original. */
export interface PreparedSong {
  song: Float32Array[];
  /** The input's own rate and length (per channel), which the stems get back. */
  sampleRate: number;
  inputLength: number;
  notices: string[];
  tags: AudioTags;
}

/**
 * Keeps prepared songs between jobs (the engine keeps the last one: re-rendering a song with new controls then
 * skips decoding and resampling it). Entries must not be changed by their users; the pipeline only reads them.
 */
export interface SongMemo {
  get(key: string): PreparedSong | undefined;
  set(key: string, song: PreparedSong): void;
}

/** Identifies a file's current contents well enough for the memo: path, size, modification time, inode. */
async function songKey(path: string): Promise<string | null> {
  const st = await stat(path).catch(() => null);
  return st?.isFile() ? `${path}|${st.size}|${st.mtimeMs}|${st.ino}` : null;
}

/** The song ready for the chunk loop, from the memo when it holds it (a part rendered on its own, region.ts). */
export async function preparedSong(input: string, deps: PipelineDeps, signal?: AbortSignal): Promise<PreparedSong> {
  const key = deps.songs ? await songKey(input) : null;
  const kept = key ? deps.songs!.get(key) : undefined;
  if (kept) return kept;
  const cancelled = () => {
    if (signal?.aborted) throw new XumxError('CANCELLED', `${input}: cancelled`, input);
  };
  const prepared = await prepareSong(input, deps, async (_stage, work) => work(), cancelled, new ProgressTracker(() => {}));
  if (key) deps.songs!.set(key, prepared);
  return prepared;
}

async function prepareSong(input: string, deps: PipelineDeps, timed: LoopTools['timed'], cancelled: () => void,
  progress: ProgressTracker): Promise<PreparedSong> {
  const decoded = await timed('decode', () => deps.decode(input));
  cancelled();
  const { sampleRate } = decoded;
  const inputLength = decoded.channels[0]?.length ?? 0;
  if (inputLength === 0) throw new XumxError('ZERO_LENGTH_AUDIO', `${input}: the file holds no audio samples`, input);
  const notices = [...decoded.notices];
  const stereo = toStereo(decoded.channels);
  if (stereo.notice) notices.push(stereo.notice);
  decoded.channels = []; // the multichannel original is no longer needed; let it go before resampling

  progress.preparing('resample', 0.6);
  const rate = CONTRACT.sampleRate;
  const song = sampleRate === rate ? stereo.channels : await timed('decode', () => resample(stereo.channels, sampleRate, rate));
  return { song, sampleRate, inputLength, notices, tags: decoded.tags ?? {} };
}

interface LoopTools {
  timed<T>(stage: keyof Timings, work: () => T | Promise<T>): Promise<T>;
  cancelled(): void;
  progress: ProgressTracker;
  timings: Timings;
  /** Hears every stem's finished samples for the song's analysis; null when the analysis is known already. */
  tap: StemTap | null;
}

/** A source of estimates that can also say where the estimate cache stores each chunk (ReplayRunner). */
interface CachedEstimates {
  nextRecord(frames: number): CachedRecord;
}

interface PreparedBatch {
  first: number;
  count: number;
  /** [count][2] mixture STFTs, kept for the Wiener filter. */
  mixes: [Spectrogram, Spectrogram][];
  /** [count, 2, bins, frames] mixture magnitudes: the network's input. */
  input: Float32Array;
}

/**
 * The chunk loop, software-pipelined: while the network computes batch k (on its own thread when the runner has
 * one), this thread filters, inverts and encodes batch k-1 and takes the STFT of batch k+1. With an in-thread
 * runner the same code simply runs one step after another.
 */
async function runChunks(song: Float32Array[], job: PipelineJob, model: ModelRunner, stems: string[],
  sinks: StemSink[], { timed, cancelled, progress, timings, tap }: LoopTools): Promise<void> {
  const { hop, bins, nFft } = CONTRACT;
  const plan = planChunks(song[0].length, job.segments, hop, minChunkLength(nFft));
  const faders = stems.map(() => new Crossfader(plan, 2));
  const batchSize = Math.max(1, job.segments.batch);
  const plane = bins * plan.frames;
  const sources = model.manifest.sources;
  const total = plan.chunks.length;
  const busy = () => (model as Partial<ThreadedModelRunner>).busySeconds;
  let done = 0;
  const report = (stage: Stage) => progress.working(stage, done, total);

  // A replay of the estimate cache with DSP threads: no network, and no batches (see renderFromCache).
  const raw = job.dsp && typeof (model as Partial<CachedEstimates>).nextRecord === 'function' ? (model as unknown as CachedEstimates) : null;
  if (raw && job.dsp) return renderFromCache(song, plan, raw, job.dsp, job.controls, sources, { sinks, faders, cancelled, report, timed, timings, tap, onChunk: () => { done += 1; } });

  const finished = (stem: number, samples: Float32Array[]) => { tap?.add(stem, samples); return samples; };
  const kernels = await loadDspKernels();
  const prepare = (first: number, size: number): Promise<PreparedBatch> => timed('stft', () => {
    const count = Math.min(size, total - first);
    const needsInput = !model.ignoresInput;
    const input = new Float32Array(needsInput ? count * 2 * plane : 0);
    const mixes: [Spectrogram, Spectrogram][] = [];
    for (let b = 0; b < count; b++) {
      const { start, length } = plan.chunks[first + b];
      const spec = song.map((ch) => kernels.stft(chunkSamples(ch, start, length, plan.chunkLength))) as [Spectrogram, Spectrogram];
      if (spec[0].frames !== plan.frames) throw new XumxError('INTERNAL', `STFT gave ${spec[0].frames} frames, planned ${plan.frames}`);
      if (needsInput) spec.forEach((sp, c) => magnitude(sp, input.subarray((b * 2 + c) * plane, (b * 2 + c + 1) * plane)));
      mixes.push(spec);
    }
    return { first, count, mixes, input };
  });

  const launch = (batch: PreparedBatch): Promise<Float32Array> => {
    const running = model.run(batch.input, batch.count, plan.frames);
    running.catch(() => {}); // awaited below; a job cancelled meanwhile must not leave an unhandled rejection
    return running;
  };

  const finish = async (batch: PreparedBatch, estimates: Float32Array): Promise<void> => {
    const task = (b: number, copy: boolean): ChunkTask => ({
      estimates: sources.map((_, j) => {
        const from = (j * batch.count + b) * 2 * plane;
        return copy ? estimates.slice(from, from + 2 * plane) : estimates.subarray(from, from + 2 * plane);
      }),
      mix: batch.mixes[b],
      sources: [...sources],
      controls: job.controls,
      chunkLength: plan.chunkLength,
      samples: chunkCopy(song, plan.chunks[batch.first + b], plan.chunkLength),
    });
    // With DSP threads the chunks render in parallel on their own copies (the buffers are transferred), as many at
    // a time as there are threads: more in flight would only hold more chunks in memory. Results are crossfaded
    // and written in order below.
    const renders: (Promise<Float32Array[][]> | undefined)[] = [];
    const inFlight = job.dsp ? Math.max(1, job.dsp.size ?? 1) : 0;
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
      const signals = job.dsp ? await renders[b]! : renderChunk(task(b, false), timings);
      renders[b] = undefined;
      submit(b + inFlight);
      batch.mixes[b] = undefined as unknown as [Spectrogram, Spectrogram]; // free the chunk's mixture STFT early
      for (let s = 0; s < stems.length; s++) await timed('encode', async () => sinks[s].write(finished(s, faders[s].add(index, signals[s]))));
      done += 1 - NETWORK_SHARE;
      report('encode');
      cancelled();
    }
  };

  const busyAtStart = busy();
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
    if (next) {
      report('network');
      running = launch(next);
    }
    await finish(current, answer);
    current = next as PreparedBatch;
  }
  // The network's own time: from its thread when it has one (overlapped with the DSP above), else the wait.
  const b = busy();
  timings.network += b !== undefined && busyAtStart !== undefined ? b - busyAtStart : waited;
}

interface CacheLoopTools extends Pick<LoopTools, 'timed' | 'cancelled' | 'timings' | 'tap'> {
  sinks: StemSink[];
  faders: Crossfader[];
  report(stage: Stage): void;
  /** Counts a finished chunk for the progress. */
  onChunk(): void;
}

/**
 * A re-render from the estimate cache: no network, so the chunks' DSP is all the work, and it goes to the DSP
 * threads whole (each chunk goes as where its record is in the cache file, with the chunk's samples; the thread
 * reads and checks the record and takes the mixture's STFT itself). This thread only crossfades and writes, keeping
 * one chunk more in flight than there are threads across the whole song, so no thread waits on it between chunks
 * (per-batch hand-offs left the threads idle while this one worked: bench/rerender.bench.ts).
 */
async function renderFromCache(song: Float32Array[], plan: ChunkPlan, raw: CachedEstimates, dsp: DspRenderer,
  controls: SeparationControls, sources: readonly string[], { sinks, faders, report, onChunk, timed, cancelled, timings, tap }: CacheLoopTools): Promise<void> {
  const finished = (stem: number, samples: Float32Array[]) => { tap?.add(stem, samples); return samples; };
  const total = plan.chunks.length;
  const ahead = Math.max(1, dsp.size ?? 1) + 1;
  const rendering: Promise<Float32Array[][]>[] = [];
  let submitted = 0;
  for (let index = 0; index < total; index++) {
    while (submitted < total && submitted < index + ahead) {
      const chunk = dsp.render({
        estimates: [], cached: raw.nextRecord(plan.frames), sources: [...sources], controls, chunkLength: plan.chunkLength,
        samples: chunkCopy(song, plan.chunks[submitted], plan.chunkLength),
      }, timings);
      chunk.catch(() => {}); // awaited below; a job cancelled or failed meanwhile must not leave an unhandled rejection
      rendering.push(chunk);
      submitted++;
    }
    report('wiener');
    const signals = await rendering.shift()!;
    for (let s = 0; s < sinks.length; s++) await timed('encode', async () => sinks[s].write(finished(s, faders[s].add(index, signals[s]))));
    onChunk();
    report('encode');
    cancelled();
  }
}

/** A copy of the chunk's samples per channel, zero-padded to the plan's chunk length: a ChunkTask's `samples`. */
export function chunkCopy(song: Float32Array[], { start, length }: { start: number; length: number }, chunkLength: number): Float32Array[] {
  return song.map((ch) => { const x = new Float32Array(chunkLength); x.set(ch.subarray(start, start + length)); return x; });
}

/** The chunk's samples, zero-padded to the plan's chunk length (only the last chunk is ever short). */
function chunkSamples(channel: Float32Array, start: number, length: number, chunkLength: number): Float32Array {
  if (length === chunkLength) return channel.subarray(start, start + length);
  const padded = new Float32Array(chunkLength);
  padded.set(channel.subarray(start, start + length));
  return padded;
}
