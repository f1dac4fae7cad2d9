// The engine's public API: one typed door that the CLI, the Electron main process and the browser-mode server
// all adapt. Jobs run in a worker thread; progress comes back as events, cancellation goes in as an AbortSignal.
import type { Worker } from 'node:worker_threads';
import { startWorker } from './workers.ts';
import { XumxError } from './errors.ts';
import './temp-files.ts'; // sets the process's temporary-file tag before the worker starts, so the worker shares it
import { defaultModelDirs, scanModels } from './model/registry.ts';
import { describeModel } from './model/details.ts';
import type { EngineOptions, RunnerOptions } from './runner.ts';
import type {
  ListenCopyHooks,
  ModelInfo,
  Progress,
  Region,
  RegionResult,
  SeparateRequest,
  SeparationResult,
} from './types.ts';
import type { FromWorker, ToWorker } from './worker.ts';

export { bundledModelsDir } from './model/registry.ts';
export type * from './types.ts';

// What the doors (api/, cli/, electron/, web/) use of the engine: they import it from here (or the types from
// types.ts), never from the modules behind it (eslint.config.js).
export { analysisLabel, confidenceLabel } from './analysis/labels.ts';
export { cutRegion, regionFrames } from './audio/cut-region.ts';
export { decodeFile, decodeStream } from './audio/decode.ts';
export type { DecodedAudio } from './audio/decode.ts';
export { createSampleEncoder } from './audio/sample-encoders.ts';
export { STEM_FILE_SOURCES, stemFileCodec } from './audio/stem-file-layout.ts';
export type { StemFileCodec } from './audio/stem-file-layout.ts';
export { stemFileFromStemFiles } from './audio/stem-file.ts';
export { closeStems, furthestBehind, openStems, readFraction, StemReader } from './audio/stem-reader.ts';
export type { StemStream } from './audio/stem-reader.ts';
export { cutPieces, inBlocks } from './audio/pieces.ts';
export { loadDspKernels } from './dsp/kernels/index.ts';
export { makeFolders } from './folders.ts';
export type { DspKernels } from './dsp/kernels/index.ts';
export { createStemWriter, writeAudioFile } from './audio/stem-writer.ts';
export type { StemWriter, StemWriterOptions } from './audio/stem-writer.ts';
export { mixTags } from './audio/tags.ts';
export type { AudioTags } from './audio/tags.ts';
export type { StatFs } from './convert/disk-space.ts';
export { partialPath } from './convert/download.ts';
export type { ImportOptions, ImportResult } from './convert/import-xumx.ts';
export { downloadPath, installPublishedXumx, installSpaceNeeded, xumxParameterBytes } from './convert/install.ts';
export type { InstallProgress } from './convert/install.ts';
export { XUMX_OFFICIAL } from './convert/official.ts';
export type { PublishedWeights } from './convert/official.ts';
export {
  BLEED_RANGE,
  checkControls,
  checkPartialControls,
  DEFAULT_SEPARATION_CONTROLS,
  modelDefaultControls,
  STRENGTH_RANGE,
  WIENER_ITERATIONS_MAX,
  withDefaults,
} from './dsp/controls.ts';
export {
  isBypassed,
  SEMITONE_RANGE,
  TEMPO_RANGE,
  stretchedLength,
  timePitchProblem,
} from './dsp/time-pitch-settings.ts';
export type { TimePitch } from './dsp/time-pitch-settings.ts';
export { renderTimePitch, STRETCH_CALL_FRAMES, TimePitchStream } from './dsp/time-pitch.ts';
export { XumxError, asXumxError } from './errors.ts';
export type { ErrorCode } from './errors.ts';
export { describeModel } from './model/details.ts';
export { importModel, removeModel } from './model/manage.ts';
export { MODEL_ID_PATTERN } from './model/manifest.ts';
export { defaultModelDirs, noModelError, scanModels, userModelsDir } from './model/registry.ts';
export { outputError, writeFailureReason } from './output-error.ts';
export {
  ListeningCopy,
  PEAK_FRAMES,
  readListeningCopy,
  readListeningPeaks,
  type CopyPeaks,
} from './separate/listening-copy.ts';
export { removeEmptyFolders } from './separate/outputs.ts';
export { removeAbandonedSongs } from './separate/song-samples.ts';
export {
  BUILT_IN_PRESETS,
  findPreset,
  parsePreset,
  parsePresetFile,
  presetGains,
  resolvePreset,
  serializePresetFile,
} from './separate/presets.ts';
export type { Preset } from './separate/presets.ts';
export type { SegmentSettings } from './separate/segment-settings.ts';
export {
  exportFileName,
  exportName,
  FILE_NAME_MAX_BYTES,
  fitUtf8,
  partName,
  songName,
  stemFileName,
} from './separate/song-name.ts';
export { claimStemFile } from './separate/stem-file-claim.ts';
export type { StemFileClaim } from './separate/stem-file-claim.ts';
export type { EngineOptions } from './runner.ts';
export { songFiles } from './song-files.ts';
export { ownerIsGone, removeStaleTemps, tempName, tempPathFor, thisProcess } from './temp-files.ts';

export interface SeparateHooks {
  onProgress?(p: Progress): void;
  /** Also write the render into a listening copy as its chunks become final (separate only, not renderRegion). */
  listen?: ListenCopyHooks;
  signal?: AbortSignal;
}

export interface Engine {
  listModels(): Promise<ModelInfo[]>;
  /**
   * Starts the worker thread and readies what every job needs (DSP kernels and threads) now instead of with the
   * first song, which otherwise waits for them (the app calls it when it starts); with `model`, also opens the session
   * that model and provider run in, kept for the jobs. Resolves when they are ready; a problem is left for the first
   * job to report.
   */
  warmUp(model?: Pick<SeparateRequest, 'modelId' | 'ep'>): Promise<void>;
  /**
   * Never throws for a per-file problem: those come back as { ok: false, error: { code, message } }. Also the way to
   * re-render with new controls: with a cache configured and the song's estimates in it, no network runs
   * (result.estimates === 'cache'); an evicted or corrupt entry falls back to a full separation.
   */
  separate(req: SeparateRequest, hooks?: SeparateHooks): Promise<SeparationResult>;
  /**
   * A part of a song (samples at its own rate) with req.controls, from the estimate cache only: the samples a full
   * re-render writes there, nothing written. Not queued behind running jobs. NOT_CACHED when the cache cannot answer.
   */
  renderRegion(req: SeparateRequest, region: Region, hooks?: Pick<SeparateHooks, 'signal'>): Promise<RegionResult>;
  /**
   * Lets go of the song prepared for `input` that the engine keeps for re-renders (a temporary file as large as the
   * decoded song), once the jobs sent before are done; call it when no re-render of that song can come any more.
   */
  releaseSong(input: string): Promise<void>;
  /** Cancels running jobs, frees the models and stops the worker thread. */
  dispose(): Promise<void>;
}

interface PendingJob {
  input: string;
  hooks: SeparateHooks;
  resolve(r: SeparationResult | RegionResult): void;
  detach(): void;
}

export function createEngine(opts: EngineOptions = {}): Engine {
  const runnerOptions: RunnerOptions = {
    modelDirs: opts.modelDirs ?? defaultModelDirs(),
    allowTestModels: opts.allowTestModels ?? false,
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    segments: opts.segments,
    cache: opts.cache,
    dspThreads: opts.dspThreads,
    ...(opts.songFolder !== undefined ? { songFolder: opts.songFolder } : {}),
  };
  const jobs = new Map<number, PendingJob>();
  /** releaseSong calls waiting for the worker's answer. */
  const releases = new Map<number, () => void>();
  /** Warm-ups waiting for the worker's answer. */
  const warming = new Map<number, () => void>();
  let nextId = 1;
  let worker: Worker | null = null;
  let disposed = false;

  const idle = () => jobs.size === 0 && releases.size === 0 && warming.size === 0;
  const failAll = (message: string) => {
    // A worker that has stopped keeps no song.
    for (const [id, done] of releases) {
      releases.delete(id);
      done();
    }
    for (const done of warming.values()) done();
    warming.clear();
    for (const [id, job] of jobs) {
      jobs.delete(id);
      job.detach();
      job.resolve({ input: job.input, ok: false, error: { code: 'INTERNAL', message: `${job.input}: ${message}` } });
    }
  };

  const start = (): Worker => {
    if (worker) return worker;
    const w = spawnWorker(runnerOptions);
    w.on('message', (msg: FromWorker) => {
      if (msg.type === 'warm') {
        warming.get(msg.id)?.();
        warming.delete(msg.id);
        if (idle()) w.unref();
      } else if (msg.type === 'progress') jobs.get(msg.id)?.hooks.onProgress?.(msg.progress);
      else if (msg.type === 'listen') jobs.get(msg.id)?.hooks.listen?.onReady(msg.listen);
      else if (msg.type === 'result' || msg.type === 'region-result') {
        const job = jobs.get(msg.id);
        jobs.delete(msg.id);
        job?.detach();
        job?.resolve(msg.result);
        if (idle()) w.unref(); // an idle engine does not keep the process alive
      } else if (msg.type === 'released') {
        releases.get(msg.id)?.();
        releases.delete(msg.id);
        if (idle()) w.unref();
      }
    });
    w.on('error', (err) => {
      worker = null;
      failAll(`the engine stopped unexpectedly (${err.message})`);
    });
    w.on('exit', (code) => {
      if (worker === w) worker = null;
      if (!idle()) failAll(`the engine stopped unexpectedly (exit code ${code})`);
    });
    worker = w;
    return w;
  };

  /** Posts a job to the worker; resolves with its result (a per-file failure too), or INTERNAL if the worker dies. */
  const send = <R extends SeparationResult | RegionResult>(
    input: string,
    hooks: SeparateHooks,
    message: (id: number) => ToWorker,
  ): Promise<R> => {
    if (disposed) throw new XumxError('INTERNAL', 'the engine was disposed');
    return new Promise<R>((resolve) => {
      const id = nextId++;
      const w = start();
      w.ref();
      const onAbort = () => w.postMessage({ type: 'abort', id } satisfies ToWorker);
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      jobs.set(id, {
        input,
        hooks,
        resolve: (r) => resolve(r as R),
        detach: () => hooks.signal?.removeEventListener('abort', onAbort),
      });
      w.postMessage(message(id));
      if (hooks.signal?.aborted) onAbort();
    });
  };

  return {
    warmUp(model) {
      if (disposed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const id = nextId++;
        try {
          const w = start();
          w.ref();
          warming.set(id, resolve);
          w.postMessage({ type: 'warm-up', id, ...(model ? { model } : {}) } satisfies ToWorker);
        } catch {
          warming.delete(id);
          resolve(); // the first job starts the worker again and says what stops it
        }
      });
    },

    async listModels() {
      const scan = await scanModels(runnerOptions.modelDirs, { allowTestModels: runnerOptions.allowTestModels });
      return Promise.all(scan.models.map(describeModel));
    },

    separate(req, hooks = {}) {
      return send<SeparationResult>(req.input, hooks, (id) => ({
        type: 'separate',
        id,
        req,
        ...(hooks.listen ? { listenCopy: hooks.listen.path } : {}),
      }));
    },

    renderRegion(req, region, hooks = {}) {
      return send<RegionResult>(req.input, hooks, (id) => ({ type: 'region', id, req, region }));
    },

    async releaseSong(input) {
      // A worker not started (or gone) keeps no song.
      const w = worker;
      if (!w || disposed) return;
      const id = nextId++;
      w.ref();
      await new Promise<void>((resolve) => {
        releases.set(id, resolve);
        w.postMessage({ type: 'release-song', id, input } satisfies ToWorker);
      });
    },

    async dispose() {
      disposed = true;
      const w = worker;
      if (!w) return;
      w.ref();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => void w.terminate().then(() => resolve()), 10_000);
        w.on('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        w.on('message', (msg: FromWorker) => {
          if (msg.type === 'disposed') void w.terminate();
        });
        w.postMessage({ type: 'dispose' } satisfies ToWorker);
      });
      worker = null;
    },
  };
}

function spawnWorker(workerData: RunnerOptions): Worker {
  return startWorker(import.meta.url, 'worker', { workerData });
}
