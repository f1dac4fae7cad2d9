// One song through the engine: decode → stereo → 44.1 kHz → a temporary file (song-samples.ts) → overlapping chunks
// → STFT → network (chunks batched) → Wiener → ISTFT → crossfade → back to the input's rate → stem writers → rename
// when all are complete. Memory stays bounded by one batch of chunks whatever the song's length: the decoder hands
// over pieces, the prepared song is read back a chunk at a time, and no whole-song spectrogram is ever held.
import { stat } from 'node:fs/promises';
import { createResampler, type StreamingResampler } from '../dsp/resample.ts';
import { polyphaseRatio } from '../dsp/polyphase.ts';
import { loadDspKernels } from '../dsp/kernels/index.ts';
import type { DspRenderer } from './chunk-renderer.ts';
import { toStereo } from '../audio/channels.ts';
import type { StemWriterFactory } from '../audio/stem-writer.ts';
import { stemTags, type AudioTags } from '../audio/tags.ts';
import { XumxError, asXumxError } from '../errors.ts';
import { CONTRACT, type ModelManifest } from '../model/manifest.ts';
import type { ModelRunner } from '../model/session.ts';
import type {
  BitDepth,
  EpName,
  EpSkip,
  EpTiming,
  ListenCopyHooks,
  OutputFormat,
  Progress,
  SeparationControls,
  SeparationOk,
  SongAnalysis,
  Timings,
} from '../types.ts';
import { StemTap } from '../analysis/stem-tap.ts';
import { measurable } from '../analysis/index.ts';
import type { LoopTools } from './chunk-loop.ts';
import { runChunks } from './network-chunks.ts';
import { replayChunks, type CachedEstimates } from './replay-chunks.ts';
import { checkOutputWritable, StemOutputs } from './outputs.ts';
import { ProgressTracker } from './progress.ts';
import type { SegmentSettings } from './segment-settings.ts';
import type { ChunkPlan } from './segments.ts';
import { StemSink } from './stem-sink.ts';
import { BestEffortCopy } from './best-effort-copy.ts';
import { TimePitchStream, type TimePitch } from '../dsp/time-pitch.ts';
import { DEFAULT_SONG_FOLDER, SongFileWriter, type SongSamples } from './song-samples.ts';

/** A decoded input: whole (short songs, tests) or in pieces as its decoder makes them (decode.ts's decodeStream). */
export type DecodedInput = {
  sampleRate: number;
  /** For pieces: complete once the last piece has come. */
  notices: string[];
  /** Written into every stem, the stem's name added to the title. */
  tags?: AudioTags;
} & (
  | { channels: Float32Array[] }
  | {
      pieces: AsyncIterable<Float32Array[]>;
      /** Frames per channel where the file's header promises them exactly (the song is then read as it comes). */
      frames?: number;
    }
);

/** Side effects the pipeline needs, passed in so tests can use in-memory fakes. */
export interface PipelineDeps {
  decode(path: string): Promise<DecodedInput>;
  createStemWriter: StemWriterFactory;
  /** Where prepared songs are kept between jobs; absent: every job decodes its input. */
  songs?: SongMemo;
  /** The folder for prepared songs' temporary files; absent: DEFAULT_SONG_FOLDER. */
  songFolder?: string;
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
  /** Renders chunks on other threads (the DspPool); absent: in this thread. */
  dsp?: DspRenderer;
  /** The song's analysis when it was measured before (kept with the estimate cache); absent: measured now. */
  analysis?: SongAnalysis | null;
}

export interface PipelineHooks {
  onProgress?(p: Progress): void;
  /** Also write the stems, as they become final, into a listening copy (listening-copy.ts). */
  listen?: ListenCopyHooks;
  signal?: AbortSignal;
}

/**
 * A network whose session may still be opening, with the chunk sizes its provider wants (known once it is open).
 * Its manifest is known before: the stems' outputs are made while the session opens.
 */
export interface OpeningNetwork {
  manifest: ModelManifest;
  ready: Promise<{ model: ModelRunner; segments: SegmentSettings; onPlan?(plan: ChunkPlan): void }>;
}

/** Where a job's estimates come from: the network (perhaps still opening) or the estimate cache. */
type EstimateSource =
  ({ kind: 'network' } & OpeningNetwork) | { kind: 'cache'; manifest: ModelManifest; estimates: CachedEstimates };

export async function separateFile(
  job: PipelineJob,
  model: ModelRunner,
  deps: PipelineDeps,
  hooks: PipelineHooks = {},
): Promise<SeparationOk> {
  const { segments, ...rest } = job;
  return separateOpening(rest, { manifest: model.manifest, ready: Promise.resolve({ model, segments }) }, deps, hooks);
}

/**
 * separateFile with a network still opening: the song is decoded and the outputs made meanwhile, and the chunk loop
 * waits for the session only when its first chunk needs it. Opening a full-size model takes about as long as
 * decoding a song, and the two used to run one after the other before the first sound.
 */
export function separateOpening(
  job: Omit<PipelineJob, 'segments'>,
  network: OpeningNetwork,
  deps: PipelineDeps,
  hooks: PipelineHooks = {},
): Promise<SeparationOk> {
  return separateSong(job, { kind: 'network', ...network }, deps, hooks);
}

/**
 * A re-render from the estimate cache: the song's estimates come from `estimates`, no network runs, and the chunks'
 * DSP is all the work (replay-chunks.ts).
 */
export function separateFromCache(
  job: Omit<PipelineJob, 'segments'>,
  manifest: ModelManifest,
  estimates: CachedEstimates,
  deps: PipelineDeps,
  hooks: PipelineHooks = {},
): Promise<SeparationOk> {
  return separateSong(job, { kind: 'cache', manifest, estimates }, deps, hooks);
}

async function separateSong(
  job: Omit<PipelineJob, 'segments'>,
  source: EstimateSource,
  deps: PipelineDeps,
  hooks: PipelineHooks = {},
): Promise<SeparationOk> {
  const { input } = job;
  // Handled here so that a session failing while the song decodes is no unhandled rejection; awaited later.
  const opened = { done: source.kind === 'cache' };
  if (source.kind === 'network')
    source.ready.then(
      () => (opened.done = true),
      () => {},
    );
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
  const kernels = await loadDspKernels();
  cancelled();
  progress.preparing('decode', 0);
  // Someone listening waits for the first final frames: until then the decoder keeps only a little ahead of the
  // chunks (a 3-minute MP3's decoding beside the first chunk's network run slowed it by a third on 2 cores).
  let heard!: () => void;
  const firstHeard = new Promise<void>((resolve) => (heard = resolve));
  const listen: ListenCopyHooks | undefined = hooks.listen && {
    ...hooks.listen,
    onReady: (l) => {
      // Heard, or never to be (a copy abandoned: its notice says why).
      if (l.readyFrames > 0 || l.notWritten) heard();
      hooks.listen!.onReady(l);
    },
  };
  const prepared = await preparedSong(
    input,
    deps,
    { timed, cancelled, progress },
    { readWhileWriting: true, ...(listen ? { holdUntil: firstHeard } : {}) },
  );
  try {
    return await separatePrepared(
      job,
      source,
      () => opened.done,
      prepared,
      deps,
      { timed, cancelled, progress, timings, kernels },
      listen,
    );
  } finally {
    heard();
    await prepared.writing?.stop();
    await prepared.song.release();
  }
}

async function separatePrepared(
  job: Omit<PipelineJob, 'segments'>,
  source: EstimateSource,
  isOpen: () => boolean,
  prepared: PreparedSong,
  deps: PipelineDeps,
  { timed, cancelled, progress, timings, kernels }: Omit<LoopTools, 'tap'>,
  listen?: ListenCopyHooks,
): Promise<SeparationOk> {
  const { input } = job;
  const { song, sampleRate, inputLength } = prepared;
  const rate = CONTRACT.sampleRate;
  const notices = [...prepared.notices];
  cancelled();
  progress.preparing('stft', 1);

  const { manifest } = source;
  const stems = job.controls.residual ? [...manifest.sources, 'residual'] : [...manifest.sources];
  const outputs = await StemOutputs.create(job.outDir, input, stems, job.format);
  notices.push(...outputs.notices);
  const sinks: StemSink[] = [];
  let copy: BestEffortCopy | null = null;
  const tap = job.analysis === undefined && measurable(inputLength / sampleRate) ? new StemTap(stems, rate) : null;
  let analysis = job.analysis ?? null;
  try {
    // The copy is an extra: one that cannot be written is abandoned with a notice, never the stems.
    if (listen) copy = await BestEffortCopy.open(listen, stems, sampleRate, inputLength);
    for (const [index, stem] of stems.entries()) {
      const resampler = sampleRate === rate ? null : await createResampler(rate, sampleRate, 2);
      try {
        const writer = await deps.createStemWriter(outputs.tempPath(stem), {
          format: job.format,
          bitDepth: job.bitDepth,
          sampleRate,
          channels: 2,
          tags: stemTags(prepared.tags, stem),
          shownAs: outputs.paths[stem],
          kernels,
        });
        const stretch = job.timePitch ? await TimePitchStream.create(2, sampleRate, job.timePitch) : null;
        const listen = copy ? (planar: Float32Array[]) => copy!.add(index, planar) : null;
        sinks.push(new StemSink(writer, resampler, inputLength, 2, stretch?.bypassed ? null : stretch, listen));
      } catch (err) {
        resampler?.destroy();
        throw err;
      }
    }
    const tools = { timed, cancelled, progress, timings, tap, kernels };
    if (source.kind === 'network') {
      if (!isOpen()) progress.preparing('load-model', 1);
      const { model, segments, onPlan } = await source.ready;
      cancelled();
      await runChunks(song, { ...job, segments, ...(onPlan ? { onPlan } : {}) }, model, sinks, tools, copy !== null);
    } else {
      await replayChunks(song, job, source.estimates, manifest.sources, sinks, tools);
    }
    // Every sample of the song was read by now; its decoder may still have had something to say (or fail).
    if (prepared.writing) notices.unshift(...(await prepared.writing.done));
    cancelled();
    progress.finishing();
    await timed('encode', async () => {
      const finished = sinks.splice(0);
      for (const sink of finished) await sink.finish();
      await copy?.finish();
      await outputs.commit();
      if (copy?.notice) notices.push(copy.notice);
      notices.push(
        ...writerNotices(
          stems,
          finished.map((s) => s.notices),
        ),
      );
    });
    // The analysis is an extra: a problem in it costs the tempo and key, never the stems.
    if (tap) {
      try {
        analysis = await tap.analyze(song);
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
  const ran = await ranOn(source);
  progress.done();
  return {
    input,
    ok: true,
    stems: { ...outputs.paths },
    sampleRate,
    duration: inputLength / sampleRate,
    modelId: manifest.id,
    ...ran,
    timings,
    notices,
    controls: job.controls,
    ...songTitle(prepared.tags),
    ...(analysis ? { analysis } : {}),
  };
}

/** The provider the estimates came from, and what `auto` skipped and timed to choose it (nothing, for the cache's). */
async function ranOn(source: EstimateSource): Promise<{ ep: EpName; epSkipped: EpSkip[]; epTimings: EpTiming[] }> {
  if (source.kind === 'cache') return { ep: source.estimates.ep, epSkipped: [], epTimings: [] };
  const { model } = await source.ready; // open by now: the chunk loop ran on it
  return { ep: model.ep, epSkipped: [...model.epSkipped], epTimings: [...model.epTimings] };
}

/** The stem writers' notices, each said once with the stems it is about: "vocals, bass: clipped …". */
function writerNotices(stems: string[], perStem: (readonly string[])[]): string[] {
  const byText = new Map<string, string[]>();
  perStem.forEach((notices, i) => {
    for (const n of notices) byText.set(n, [...(byText.get(n) ?? []), stems[i]]);
  });
  return [...byText].map(([text, names]) => `${names.join(', ')}: ${text}`);
}

function songTitle(tags: AudioTags): Pick<SeparationOk, 'title' | 'artist'> {
  return { ...(tags.title ? { title: tags.title } : {}), ...(tags.artist ? { artist: tags.artist } : {}) };
}

/** A song ready for the chunk loop: stereo at the model's rate, and what the outputs need to know of the original. */
export interface PreparedSong {
  song: SongSamples;
  /** The input's own rate and length (per channel), which the stems get back. */
  sampleRate: number;
  inputLength: number;
  notices: string[];
  tags: AudioTags;
  /**
   * Present while the song is still being written (read while written, as a separation does): `done` resolves with
   * its notices once all of it is there, or rejects with why it could not be (reads of what is missing fail with
   * the same error); `stop()` ends the writing early and waits for it.
   */
  writing?: { done: Promise<string[]>; stop(): Promise<void> };
}

/**
 * Keeps prepared songs between jobs (the engine keeps the last one: re-rendering a song with new controls then
 * skips decoding and resampling it). A memo takes its own hold on the samples it keeps (SongSamples.retain) and
 * releases it when it lets the song go; the pipeline takes another for as long as a job uses them.
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

/**
 * The song ready for the chunk loop, from the memo when it holds it (also for a part rendered on its own, region.ts).
 * The caller holds it until it calls `song.release()`.
 */
export async function preparedSong(
  input: string,
  deps: PipelineDeps,
  tools: AbortSignal | Pick<LoopTools, 'timed' | 'cancelled' | 'progress'> | undefined,
  { readWhileWriting = false, holdUntil }: { readWhileWriting?: boolean; holdUntil?: Promise<void> } = {},
): Promise<PreparedSong> {
  const key = deps.songs ? await songKey(input) : null;
  const kept = key ? deps.songs!.get(key) : undefined;
  if (kept) {
    kept.song.retain();
    return kept;
  }
  const { timed, cancelled, progress } =
    tools === undefined || tools instanceof AbortSignal
      ? {
          timed: async <T>(_stage: keyof Timings, work: () => T | Promise<T>) => work(),
          cancelled: () => {
            if (tools?.aborted) throw new XumxError('CANCELLED', `${input}: cancelled`, input);
          },
          progress: new ProgressTracker(() => {}),
        }
      : tools;
  const prepared = await prepareSong(input, deps, timed, cancelled, progress, readWhileWriting, holdUntil);
  if (key && prepared.writing) {
    // Kept once whole; the job holds the song until then (it waits for `done` before it ends).
    const { writing, ...song } = prepared;
    writing.done.then(
      (notices) => deps.songs!.set(key, { ...song, notices }),
      () => {},
    );
  } else if (key) deps.songs!.set(key, prepared);
  return prepared;
}

/**
 * Decodes the input piece by piece, folds each piece to stereo, resamples it on the fly to the model's rate and
 * writes it to the song's temporary file, so no more of the song than a decoder piece is in memory at once. A
 * cancel or a failure removes the file.
 */
async function prepareSong(
  input: string,
  deps: PipelineDeps,
  timed: LoopTools['timed'],
  cancelled: () => void,
  progress: ProgressTracker,
  readWhileWriting: boolean,
  holdUntil?: Promise<void>,
): Promise<PreparedSong> {
  const rate = CONTRACT.sampleRate;
  return timed('decode', async () => {
    const decoded = await deps.decode(input);
    const { sampleRate } = decoded;
    let writer: SongFileWriter | null = null;
    let resampler: StreamingResampler | null = null;
    try {
      cancelled();
      writer = await SongFileWriter.create(deps.songFolder ?? DEFAULT_SONG_FOLDER, input);
      // Its length known from the header, and so the length at the model's rate: the song can be read while it is
      // written. The polyphase converter (every common rate) gives exactly round(n · to / from) samples; the rare
      // rates libsamplerate converts may come out a sample or two off, so those songs are prepared whole.
      if (
        readWhileWriting &&
        'pieces' in decoded &&
        decoded.frames &&
        (sampleRate === rate || polyphaseRatio(sampleRate, rate))
      )
        return writeWhileRead(input, { ...decoded, frames: decoded.frames }, writer, timed, cancelled, holdUntil);
      resampler = sampleRate === rate ? null : await createResampler(sampleRate, rate, 2);
      let inputLength = 0;
      let stereoNotice: string | undefined;
      for await (const piece of 'pieces' in decoded ? decoded.pieces : [decoded.channels]) {
        cancelled();
        const frames = piece[0]?.length ?? 0;
        if (frames === 0) continue;
        inputLength += frames;
        const stereo = toStereo(piece);
        stereoNotice ??= stereo.notice;
        await writer.write(resampler ? resampler.process(stereo.channels) : stereo.channels);
      }
      if (inputLength === 0)
        throw new XumxError('ZERO_LENGTH_AUDIO', `${input}: the file holds no audio samples`, input);
      progress.preparing('resample', 0.6);
      if (resampler) await writer.write(resampler.flush());
      const notices = [...decoded.notices, ...(stereoNotice ? [stereoNotice] : [])];
      return { song: await writer.finish(), sampleRate, inputLength, notices, tags: decoded.tags ?? {} };
    } catch (err) {
      // Stopped before its end, the decoder closes its file.
      if ('pieces' in decoded) await decoded.pieces[Symbol.asyncIterator]().return?.();
      await writer?.abort();
      throw err;
    } finally {
      resampler?.destroy();
    }
  });
}

/**
 * How far the decoder may run ahead of the chunks' reads while it is held (writeWhileRead): 2 s at the model's rate,
 * looked at after each decoder piece (a piece is 3–65 s of audio, so it runs up to a piece further).
 */
const HOLD_LEAD_FRAMES = 2 * CONTRACT.sampleRate;

/**
 * The song at the model's rate, readable at once while its pieces are written on (a chunk waits for its samples),
 * so the first chunk starts after the first piece instead of the whole song: 2.45 s of a 30-minute WAV's 3.2 s to
 * its first final frames were spent preparing the song, and about 0.35 s of a 3-minute one's. A song at another rate
 * is resampled on the way (its length at the model's rate is round(frames · rate / its rate), which the polyphase
 * converter gives exactly).
 */
function writeWhileRead(
  input: string,
  decoded: Extract<DecodedInput, { pieces: unknown }> & { frames: number },
  writer: SongFileWriter,
  timed: LoopTools['timed'],
  cancelled: () => void,
  holdUntil: Promise<void> = Promise.resolve(),
): PreparedSong {
  const rate = CONTRACT.sampleRate;
  const { sampleRate } = decoded;
  const song = writer.readWhileWriting(Math.round((decoded.frames * rate) / sampleRate));
  let stopped = false;
  let freed = false;
  let unhold!: () => void;
  const free = new Promise<void>((resolve) => (unhold = resolve)).then(() => void (freed = true));
  holdUntil.then(unhold, unhold);
  const done = timed('decode', async () => {
    let stereoNotice: string | undefined;
    let resampler: StreamingResampler | null = null;
    try {
      if (sampleRate !== rate) resampler = await createResampler(sampleRate, rate, 2);
      for await (const piece of decoded.pieces) {
        if (stopped) throw new XumxError('CANCELLED', `${input}: the song's preparation was stopped`, input);
        cancelled();
        if ((piece[0]?.length ?? 0) === 0) continue;
        const stereo = toStereo(piece);
        stereoNotice ??= stereo.notice;
        await writer.write(resampler ? resampler.process(stereo.channels) : stereo.channels);
        if (!freed) await song.holdWriter(HOLD_LEAD_FRAMES, free);
      }
      if (resampler) await writer.write(resampler.flush());
      await writer.finish();
      return [...decoded.notices, ...(stereoNotice ? [stereoNotice] : [])];
    } catch (err) {
      const e = asXumxError(err, input);
      // The readers first: a decoder that cannot close must not leave a chunk waiting for its samples.
      await writer.abort(e);
      await Promise.resolve(decoded.pieces[Symbol.asyncIterator]().return?.()).catch(() => {});
      throw e;
    } finally {
      resampler?.destroy();
    }
  });
  done.catch(() => {}); // the job awaits it; its reads fail with the same error meanwhile
  return {
    song,
    sampleRate,
    inputLength: decoded.frames,
    notices: [],
    tags: decoded.tags ?? {},
    writing: {
      done,
      stop: async () => {
        stopped = true;
        unhold();
        await done.catch(() => {});
      },
    },
  };
}
