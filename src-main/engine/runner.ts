// Runs separation jobs: validates the request, finds and opens the model (sessions cached across jobs), runs the
// pipeline and turns every per-file problem into a SeparationFailed value. Lives wherever the heavy work runs
// (the engine's worker thread); knows nothing about threads itself.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RegionKeeper, type KeptSong } from './separate/region-keeper.ts';
import { decodeStream } from './audio/decode.ts';
import { LastSongMemo } from './separate/song-memo.ts';
import { createStemWriter } from './audio/stem-writer.ts';
import { XumxError, asXumxError } from './errors.ts';
import { pickModel, scanModels, type InstalledModel } from './model/registry.ts';
import type { ModelRunner } from './model/session.ts';
import { openModelInThread } from './model/threaded.ts';
import { preparedSong, separateFile, type PipelineDeps, type PipelineHooks } from './separate/pipeline.ts';
import { EstimateCache, estimateKey, hashFile, type EstimateCacheOptions } from './cache/estimate-cache.ts';
import { renderRegion, type PartSource } from './separate/region.ts';
import { PartNetwork } from './separate/part-network.ts';
import { CONTRACT } from './model/manifest.ts';
import { separateWithCache } from './cache/cached-separation.ts';
import { controlsForModel } from './dsp/controls.ts';
import { DspPool } from './separate/dsp-pool.ts';
import { loadDspKernels } from './dsp/kernels/index.ts';
import { threadPlan, type ThreadPlan } from './separate/threading.ts';
import { availableParallelism } from 'node:os';
import { segmentsFor } from './separate/segment-settings.ts';
import { startWarmRun, type WarmRun } from './warm-run.ts';
import { timePitchProblem, type TimePitch } from './dsp/time-pitch-settings.ts';
import type { SegmentSettings } from './separate/segment-settings.ts';
import {
  BIT_DEPTHS,
  CONTROLS_BASES,
  EP_NAMES,
  OUTPUT_FORMATS,
  type BitDepth,
  type EpChoice,
  type OutputFormat,
  type Region,
  type RegionResult,
  type SeparateRequest,
  type SeparationResult,
} from './types.ts';

/** How an engine is set up: createEngine's options (index.ts exports them). */
export interface EngineOptions {
  /** Folders holding model folders (<dir>/<id>/manifest.json); default: bundled models/ and the user's folder. */
  modelDirs?: string[];
  /** Lets test-only (random-weight) networks be listed and used. Tests only: users never see them. */
  allowTestModels?: boolean;
  /** onnxruntime intra-op threads; 0: onnxruntime's default (one per physical core); absent: threadPlan's. */
  threads?: number;
  /** Overrides the per-provider segment length, overlap and batch (bench and tests). */
  segments?: Partial<SegmentSettings>;
  /** Estimate cache folder and size cap: songs separated once re-render with new controls without the network. */
  cache?: EstimateCacheOptions;
  /**
   * Threads for the chunk DSP (Wiener, ISTFT) of separations, re-renders and parts beside the network. 0: in the
   * job's thread. Absent: threadPlan's (separate/threading.ts), which depends on the cores and on whether there is a
   * cache.
   */
  dspThreads?: number;
  /** Where prepared songs' temporary files go (PipelineDeps.songFolder); default: DEFAULT_SONG_FOLDER. */
  songFolder?: string;
}

/** EngineOptions with the model folders decided: the engine worker's workerData, for its JobRunner. */
export type RunnerOptions = EngineOptions & { modelDirs: string[] };

export const defaultDeps: PipelineDeps = { decode: decodeStream, createStemWriter };

export class JobRunner {
  private readonly sessions = new Map<string, Promise<ModelRunner>>();
  private readonly cache: EstimateCache | null;
  private dspPool: DspPool | null = null;
  private readonly plan: ThreadPlan;
  private readonly hashes = new Map<string, string>();
  private disposed = false;
  private memo: LastSongMemo | null = null;
  /** What the parts of the song listened to share from one part to the next. */
  private readonly regions = new RegionKeeper();
  /** The warm-up's separation of generated noise while it runs (warm-run.ts); a job stops it. */
  private warming: WarmRun | null = null;
  /** The song just separated being readied for parts (readyParts): `done` never rejects. */
  private readying: { input: string; done: Promise<void>; abort: AbortController } | null = null;
  /** A job or a part has been asked for: the warm-up separates nothing from then on (the work itself warms up). */
  private asked = false;

  constructor(
    private readonly opts: RunnerOptions,
    private deps: PipelineDeps = defaultDeps,
  ) {
    this.cache = opts.cache ? new EstimateCache(opts.cache) : null;
    this.plan = threadPlan(availableParallelism(), this.cache !== null, opts);
    if (opts.songFolder !== undefined && deps.songFolder === undefined)
      this.deps = { ...deps, songFolder: opts.songFolder };
    // With the estimate cache on, the engine re-renders songs: keep the last one prepared (song-memo.ts).
    if (this.cache && !deps.songs) {
      this.memo = new LastSongMemo();
      this.deps = { ...this.deps, songs: this.memo };
    }
  }

  async run(req: SeparateRequest, hooks: PipelineHooks = {}): Promise<SeparationResult> {
    await this.stopWarming();
    await this.stopReadying((input) => input !== req.input);
    // Another song's job: the song kept for parts would hold its prepared samples beside the new one's.
    if (this.regions.input !== null && this.regions.input !== req.input) await this.regions.forget();
    try {
      const { format, bitDepth, ep, timePitch } = validateRequest(req);
      hooks.onProgress?.({ fraction: 0, stage: 'load-model', etaSeconds: null });
      const installed = await this.installed(req.modelId);
      const controls = controlsForModel(req.controls, installed.manifest, req.controlsBase);
      if (this.cache) {
        const result = await separateWithCache(
          {
            input: req.input,
            outDir: req.outDir,
            format,
            bitDepth,
            controls,
            segments: segmentsFor('cpu', this.opts.segments),
            ...(timePitch ? { timePitch } : {}),
          },
          {
            cache: this.cache,
            installed,
            openModel: () => this.model(req.modelId, ep),
            segmentsFor: (e) => segmentsFor(e, this.opts.segments),
            deps: this.deps,
            hashInput: (path, signal) => this.songHash(path, signal),
            dsp: () => this.dsp(),
            kernels: await loadDspKernels(),
          },
          hooks,
        );
        if (hooks.listen) this.readyParts(req);
        return result;
      }
      const model = await this.model(req.modelId, ep);
      if (hooks.signal?.aborted) throw new XumxError('CANCELLED', `${req.input}: cancelled`, req.input);
      const dsp = this.dsp();
      return await separateFile(
        {
          input: req.input,
          outDir: req.outDir,
          format,
          bitDepth,
          controls,
          segments: segmentsFor(model.ep, this.opts.segments),
          ...(dsp ? { dsp } : {}),
          ...(timePitch ? { timePitch } : {}),
        },
        model,
        this.deps,
        hooks,
      );
    } catch (err) {
      const e = asXumxError(err, req.input);
      return { input: req.input, ok: false, error: { code: e.code, message: e.message } };
    }
  }

  /**
   * Readies what every job needs before the first one comes, so the first song does not wait for it: the DSP
   * kernels of this thread, with the estimate cache (the app) the DSP threads, and the session of `model` (kept for
   * the jobs like one a job opened). A model that cannot be opened is left for the first job to report.
   */
  async warmUp(model?: Pick<SeparateRequest, 'modelId' | 'ep'>): Promise<void> {
    await loadDspKernels();
    if (this.cache) this.dsp();
    const ep = model?.ep ?? 'auto';
    if (!model || this.disposed || (ep !== 'auto' && !(EP_NAMES as readonly string[]).includes(ep))) return;
    const opened = await this.model(model.modelId, ep).then(
      () => true,
      () => false,
    );
    // Only the app warms up (with the estimate cache); a job may have come meanwhile, and then it is warm anyway.
    if (!opened || !this.cache || this.disposed || this.asked || this.warming) return;
    const warming = startWarmRun(async ({ input, dir }, signal) => {
      const installed = await this.installed(model.modelId);
      // Neither the user's estimate cache nor the song kept for re-renders: this song is gone in a moment.
      const { songs: _kept, ...deps } = this.deps;
      await separateWithCache(
        {
          input,
          outDir: join(dir, 'stems'),
          format: 'wav',
          bitDepth: 24,
          controls: controlsForModel(undefined, installed.manifest),
          segments: segmentsFor('cpu', this.opts.segments),
          analysis: null,
        },
        {
          cache: new EstimateCache({ dir: join(dir, 'cache') }),
          installed,
          openModel: () => this.model(model.modelId, ep),
          segmentsFor: (e) => segmentsFor(e, this.opts.segments),
          deps,
          dsp: () => this.dsp(),
          kernels: await loadDspKernels(),
        },
        { signal, listen: { path: join(dir, 'listen.f32'), onReady: () => {} } },
      );
    });
    this.warming = warming;
    await warming.done;
    if (this.warming === warming) this.warming = null;
  }

  /**
   * Readies a song just separated with a listening copy (someone is about to listen) for the parts a change of
   * controls asks for at the playhead: its estimates found and the song kept (region-keeper.ts), and a one-sample
   * part rendered, so that the part code has run once. Without it the first change's part took longer than the
   * later ones (full-size model, 2 cores, beside the re-render it belongs to: 0.27 s against 0.07-0.12 s; readied:
   * 0.08 s). Parts and jobs asked meanwhile wait for it; a failure costs nothing (the part reports it).
   */
  private readyParts(req: SeparateRequest): void {
    const abort = new AbortController();
    const done = this.part(req, { start: 0, frames: 1 }, { signal: abort.signal }).then(() => {});
    const readying = { input: req.input, done, abort };
    this.readying = readying;
    void done.then(() => {
      if (this.readying === readying) this.readying = null;
    });
  }

  /**
   * Waits for the readying of a song for parts, stopping it first when `stop(input)` says it is of no use any more
   * (the song let go, another song's job): it would take the song up again (from the memo, or by decoding it).
   */
  private async stopReadying(stop: (input: string) => boolean = () => false): Promise<void> {
    const readying = this.readying;
    if (!readying) return;
    if (stop(readying.input)) readying.abort.abort();
    await readying.done;
  }

  /** Stops the warm-up's separation, if one runs, and waits until it has let go of everything. */
  private async stopWarming(): Promise<void> {
    this.asked = true;
    const warming = this.warming;
    this.warming = null;
    await warming?.stop();
  }

  /**
   * A part of a song with the request's controls: the samples a full re-render writes for it, nothing written. Its
   * estimates come from the estimate cache, or from the network when the cache does not hold the song (NOT_CACHED
   * only when the engine keeps no cache). Runs beside a running job.
   */
  async renderRegion(
    req: SeparateRequest,
    region: Region,
    hooks: Pick<PipelineHooks, 'signal'> = {},
  ): Promise<RegionResult> {
    await this.stopWarming();
    await this.stopReadying((input) => input !== req.input);
    return this.part(req, region, hooks);
  }

  private async part(
    req: SeparateRequest,
    region: Region,
    hooks: Pick<PipelineHooks, 'signal'> = {},
  ): Promise<RegionResult> {
    try {
      validateRequest(req);
      const { start, frames } = region ?? {};
      if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(frames) || frames < 1) {
        throw new XumxError(
          'BAD_ARGUMENT',
          `${req.input}: a part of a song is a start sample ≥ 0 and at least one sample`,
          req.input,
        );
      }
      if (this.disposed) throw new XumxError('CANCELLED', `${req.input}: the engine is shutting down`, req.input);
      if (!this.cache)
        throw new XumxError('NOT_CACHED', `${req.input}: this engine keeps no estimate cache`, req.input);
      const found = this.regions.find(req.input, req.modelId);
      const stamp = found ? await this.regionStamp(req.input, found.installed) : null;
      let kept = found && found.stamp === stamp ? found : undefined;
      // A song whose parts ran through the network may have been cached since (its re-render wrote the entry).
      if (kept?.source.kind === 'network') {
        const reader = await this.cachedEstimates(req, kept.installed, hooks.signal);
        if (reader) {
          await reader.close().catch(() => {});
          kept = undefined;
        }
      }
      for (;;) {
        kept ??= await this.keptSong(req, hooks.signal);
        const { installed, source, song } = kept;
        const controls = controlsForModel(req.controls, installed.manifest, req.controlsBase);
        const dsp = this.dsp();
        // This part's own hold: a part for another song asked meanwhile may make the keeper let go of this one.
        song.song.retain();
        try {
          // The same threads as the song's re-renders from the cache (run()).
          const part = await renderRegion({
            input: req.input,
            song,
            source,
            sources: installed.manifest.sources,
            controls,
            region: { start, frames },
            ...(dsp ? { dsp } : {}),
            signal: hooks.signal,
            kept: this.regions.chunksFor(kept, JSON.stringify(controls)),
          });
          return { input: req.input, ok: true, sampleRate: song.sampleRate, ...part };
        } catch (err) {
          const { code } = asXumxError(err);
          if (code === 'CANCELLED' || code === 'BAD_ARGUMENT') throw err;
          await this.regions.forget(req.input);
          // The entry kept may have been removed or replaced since: found again, it says so (NOT_CACHED) or renders.
          if (kept !== found || code !== 'CACHE_CORRUPT') throw err;
          kept = undefined;
        } finally {
          await song.song.release();
        }
      }
    } catch (err) {
      const e = asXumxError(err, req.input);
      return { input: req.input, ok: false, error: { code: e.code, message: e.message } };
    }
  }

  /**
   * The model, where the estimates come from and the prepared song for parts of `req.input`, found and kept for the
   * parts after (separate/region-keeper.ts).
   */
  private async keptSong(req: SeparateRequest, signal?: AbortSignal): Promise<KeptSong> {
    const installed = await this.installed(req.modelId);
    // Taken before the files are read: one changed meanwhile makes the next part find them again.
    const stamp = await this.regionStamp(req.input, installed);
    const reader = await this.cachedEstimates(req, installed, signal);
    let source: PartSource;
    if (reader) {
      // Only its header is needed from here on (each record is read by path where it is rendered): no file stays open.
      await reader.close().catch(() => {});
      source = { kind: 'cache', reader };
    } else {
      // Not cached (over the cap, or evicted): the network the song's separation runs, with its chunk plan.
      const model = await this.model(req.modelId, validateRequest(req).ep);
      source = { kind: 'network', network: new PartNetwork(model, segmentsFor(model.ep, this.opts.segments)) };
    }
    const song = await preparedSong(req.input, this.deps, signal);
    const kept: KeptSong = { input: req.input, modelId: req.modelId, stamp, installed, source, song };
    await this.regions.keep(kept);
    return kept;
  }

  /** The song's entry in the estimate cache (open: the caller closes it), or null when it holds none. */
  private async cachedEstimates(req: SeparateRequest, installed: InstalledModel, signal?: AbortSignal) {
    const { manifest } = installed;
    const key = estimateKey({ inputSha256: await this.songHash(req.input, signal), modelSha256: manifest.sha256 });
    return this.cache!.lookup(key, { modelSha256: manifest.sha256, sources: manifest.sources, bins: CONTRACT.bins });
  }

  /**
   * The song's and the model folders' identities (size, time, inode), read at once: what a kept song for parts is
   * checked against. A model installed or removed changes its folder's time; a manifest replaced, its own.
   */
  private async regionStamp(input: string, installed: InstalledModel): Promise<string> {
    const id = (path: string) =>
      stat(path).then(
        (st) => `${st.size}|${st.mtimeMs}|${st.ino}`,
        () => 'none',
      );
    const ids = await Promise.all([input, ...this.opts.modelDirs, join(installed.dir, 'manifest.json')].map(id));
    return ids.join('/');
  }

  /** The DSP pool of the thread plan, started on first use and shared by every job and part; undefined: no pool. */
  private dsp(): DspPool | undefined {
    if (this.plan.dsp === 0 || this.disposed) return undefined;
    return (this.dspPool ??= new DspPool(this.plan.dsp));
  }

  /** sha256 of a song's bytes, remembered while the file stays the same (a 2-hour WAV takes seconds to hash). */
  private async songHash(path: string, signal?: AbortSignal): Promise<string> {
    const st = await stat(path).catch(() => null);
    const id = st?.isFile() ? `${path}|${st.size}|${st.mtimeMs}|${st.ino}` : null;
    const known = id ? this.hashes.get(id) : undefined;
    if (known) return known;
    const sha = await hashFile(path, signal);
    if (id) {
      if (this.hashes.size >= 16) this.hashes.delete(this.hashes.keys().next().value!);
      this.hashes.set(id, sha);
    }
    return sha;
  }

  /** Lets go of the prepared song kept for re-rendering `input` (its temporary file), if it is the one kept. */
  async releaseSong(input: string): Promise<void> {
    await this.stopReadying((readied) => readied === input);
    await this.regions.forget(input);
    await this.memo?.forget(input);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stopWarming();
    await this.stopReadying(() => true);
    await this.regions.forget();
    await this.memo?.clear();
    await this.dspPool?.dispose();
    this.dspPool = null;
    const open = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of open)
      await s.then(
        (m) => m.dispose(),
        () => {},
      );
  }

  private async installed(id: string | undefined): Promise<InstalledModel> {
    const scan = await scanModels(this.opts.modelDirs, { allowTestModels: this.opts.allowTestModels });
    return pickModel(scan, id, this.opts.modelDirs);
  }

  private async model(id: string | undefined, ep: EpChoice): Promise<ModelRunner> {
    const installed = await this.installed(id);
    // A replaced network file gets checked and opened again.
    const file = join(installed.dir, installed.manifest.file);
    const st = await stat(file).catch(() => null);
    const key = `${installed.dir}|${installed.manifest.sha256}|${st?.mtimeMs}|${st?.size}|${ep}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = openModelInThread(installed, { ep, threads: this.plan.network });
      this.sessions.set(key, session);
      session.catch(() => this.sessions.delete(key));
    }
    return session;
  }
}

/** The request's output and provider choices; its controls are checked against the model and laid over its defaults (controlsForModel). */
export function validateRequest(req: SeparateRequest): {
  format: OutputFormat;
  bitDepth: BitDepth;
  ep: EpChoice;
  timePitch?: TimePitch;
} {
  const bad = (msg: string) => new XumxError('BAD_ARGUMENT', msg, req.input);
  if (typeof req.input !== 'string' || !req.input) throw bad('no input file given');
  if (typeof req.outDir !== 'string' || !req.outDir) throw bad(`${req.input}: no output folder given`);
  const format = req.format ?? 'wav';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format))
    throw bad(`unknown output format "${format}" (use ${OUTPUT_FORMATS.join(', ')})`);
  const bitDepth = req.bitDepth ?? 16;
  if (!(BIT_DEPTHS as readonly unknown[]).includes(bitDepth))
    throw bad(`unknown bit depth "${bitDepth}" (use ${BIT_DEPTHS.join(', ')})`);
  const ep = req.ep ?? 'auto';
  if (ep !== 'auto' && !(EP_NAMES as readonly string[]).includes(ep))
    throw bad(`unknown execution provider "${ep}" (use auto, ${EP_NAMES.join(', ')})`);
  if (req.controlsBase !== undefined && !(CONTROLS_BASES as readonly string[]).includes(req.controlsBase))
    throw bad(`unknown controls base "${String(req.controlsBase)}" (use ${CONTROLS_BASES.join(', ')})`);
  const problem = req.timePitch === undefined ? null : timePitchProblem(req.timePitch);
  if (problem) throw bad(problem);
  return {
    format,
    bitDepth,
    ep,
    ...(req.timePitch ? { timePitch: { tempo: req.timePitch.tempo, semitones: req.timePitch.semitones } } : {}),
  };
}
