// StudioService: the one implementation of the StudioApi contract. The Electron IPC door and the browser-mode
// HTTP door only validate arguments (validate.ts), call these methods and forward events.
import { lstat, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import {
  asXumxError,
  type AudioTags,
  defaultModelDirs,
  makeFolders,
  exportName,
  mixTags,
  songFiles,
  songName,
  STEM_FILE_SOURCES,
  stemFileCodec,
  stemFileName,
  userModelsDir,
  writeFailureReason,
  XumxError,
} from '../engine/index.ts';
import type { OutputFormat, SeparationControls } from '../engine/types.ts';
import {
  type Capabilities,
  type ExportMixRequest,
  type ExportRegion,
  type ExportResult,
  type ExportStemFileRequest,
  type ExportStemsRequest,
  type JobView,
  type ListenPeaks,
  type Settings,
  type StemPeaks,
  type StudioApi,
  type StudioEvent,
} from './contract.ts';
import { FileAccessPolicy } from './file-access.ts';
import { JobQueue } from './job-queue.ts';
import {
  type DecodeStem,
  type ExportAudio,
  type ExportRun,
  mixExport,
  stemExports,
  writeExport,
} from './export-audio.ts';
import { peaksFromSpans, roundPeaks } from './peaks.ts';
import { stemFilePeaks } from './stem-peaks.ts';
import type { AudioPort, EnginePort } from './ports.ts';
import type { SettingsStore } from './settings-store.ts';
import { memoryControlsStore, type ControlsStore } from './controls-store.ts';
import { settingsControls, SongControlsService, startingControls } from './song-controls.ts';
import type {
  ModelInstallView,
  ModelsView,
  Preset,
  RegionPreview,
  SongControls,
  SongLoop,
  SongRegion,
  TimePitch,
} from './contract.ts';
import { countIn, exportRegion, songLoop, songRegions } from './validate-controls.ts';
import { RegionPreviews } from './region-previews.ts';
import { ListenCopies, type ListenAnswer, type ListenHead } from './listen-copies.ts';
import { AUDIO_EXTENSIONS } from '../engine/types.ts';
import { ModelsService, type ModelsServiceDeps } from './models.ts';

export interface StudioServiceDeps {
  engine: EnginePort;
  audio: AudioPort;
  settings: SettingsStore;
  capabilities: Capabilities;
  /** Per-song controls and user presets; in memory when not given (tests). */
  controls?: ControlsStore;
  /** Where models are scanned and installed; default: the bundled and per-user model folders. */
  models?: Omit<ModelsServiceDeps, 'settings' | 'emit'>;
  /** Where renders' listening copies are written; default: a folder in the system's temporary folder. */
  listenDir?: string;
  /** Bytes all listening copies may take together; default LISTEN_CAP_BYTES. */
  listenCap?: number;
  /** The longest a listened-to song's re-render waits for its block at the playhead (ms); default PLAYHEAD_WAIT_MS. */
  listenPlayheadWaitMs?: number;
  /** Least time between two 'export-progress' events of one export (ms); default 250. */
  exportProgressMs?: number;
  /** This app's hold on its data folder (data-folder-lock.ts), given back by dispose once nothing more is written. */
  dataFolderLock?: { release(): Promise<void> };
}

const EXT: Record<OutputFormat, string> = { wav: 'wav', flac: 'flac', mp3: 'mp3' };
/** Folders dropped or opened are searched this deep for songs. */

export class StudioService implements StudioApi {
  readonly policy = new FileAccessPolicy();
  private readonly listeners = new Set<(e: StudioEvent) => void>();
  private readonly queue: JobQueue;
  private readonly peaksCache = new Map<string, StemPeaks>();
  /** Exports running under their caller's exportId. */
  private readonly exports = new Map<string, AbortController>();
  private readonly songControls: SongControlsService;
  private readonly previews: RegionPreviews;
  private readonly listening: ListenCopies;

  constructor(private readonly deps: StudioServiceDeps) {
    // One request builder for the whole-song re-render and the preview of a part, so the two render the same audio.
    // A complete set of controls: nothing of the model's recommended ones is laid under it (song-controls.ts). A
    // song separated before renders with the model its stems came from, even if another is the default since.
    const requestWith = (input: string, controls: SeparationControls, ownModel = true) => {
      const separated = ownModel
        ? this.queue.list().findLast((j) => j.input === input && j.result)?.result?.modelId
        : undefined;
      return {
        ...this.requestFor(input),
        ...(separated ? { modelId: separated } : {}),
        controls,
        controlsBase: 'neutral' as const,
      };
    };
    this.listening = new ListenCopies({
      dir: deps.listenDir ?? join(tmpdir(), 'xumx-studio-listening'),
      engine: deps.engine,
      jobs: { get: (id) => this.queue.get(id) },
      requestFor: requestWith,
      ...(deps.listenCap !== undefined ? { cap: deps.listenCap } : {}),
      ...(deps.listenPlayheadWaitMs !== undefined ? { playheadWait: deps.listenPlayheadWaitMs } : {}),
      decodeStream: (path) => deps.audio.decodeStream(path, { tags: false }),
      changed: (id) => {
        const job = this.queue.get(id);
        if (job) this.emit({ type: 'job', job: this.withListen(job) });
      },
    });
    this.songControls = new SongControlsService({
      listen: (jobId, controls) => this.listening.beginRerender(jobId, controls),
      engine: deps.engine,
      store: deps.controls ?? memoryControlsStore(),
      jobs: { get: (id) => this.queue.get(id), patch: (id, patch) => this.queue.patch(id, patch) },
      requestFor: requestWith,
      onStems: (jobId, paths) => {
        for (const p of paths) this.policy.allowWritten(p);
        for (const k of this.peaksCache.keys()) if (k.startsWith(`${jobId}/`)) this.peaksCache.delete(k);
      },
      notice: (message) => this.emit({ type: 'notice', message }),
    });
    this.previews = new RegionPreviews({
      engine: deps.engine,
      jobs: { get: (id) => this.queue.get(id) },
      requestFor: requestWith,
    });
    this.queue = new JobQueue(
      deps.engine,
      // A song adjusted before comes back with its own controls (and its estimates from the cache); any other
      // starts from its model's recommended controls.
      (input) => {
        const saved = this.songControls.saved(input);
        if (saved) return requestWith(input, saved.controls, false); // a new separation: the default model
        return { ...this.requestFor(input), controls: settingsControls(deps.settings.get()) };
      },
      (job) => this.emit({ type: 'job', job: this.withListen(job) }),
      (job) => {
        if (job.result) for (const p of Object.values(job.result.stemPaths)) this.policy.allowWritten(p);
        // Failed, cancelled, or removed while it ran: this job will not re-render its song.
        if (job.state !== 'done' || !this.queue.get(job.id)) this.releaseSong(job.input);
      },
      (jobId) => this.listening.beginFirst(jobId),
    );
  }

  onEvent(listener: (e: StudioEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: StudioEvent): void {
    for (const l of this.listeners) l(e);
  }

  async capabilities(): Promise<Capabilities> {
    return { ...this.deps.capabilities };
  }

  listModels() {
    return this.deps.engine.listModels();
  }

  async getSettings(): Promise<Settings> {
    return this.deps.settings.get();
  }

  async updateSettings(patch: Partial<Settings>): Promise<Settings> {
    const s = await this.deps.settings.update(patch);
    this.emit({ type: 'settings', settings: s });
    return s;
  }

  async open(paths: string[]): Promise<JobView[]> {
    // A song named directly and through its folder, or a folder named twice, is queued once (song-files.ts).
    const { files: songs, emptyFolders } = await songFiles(paths.map((p) => resolve(p)));
    // Songs found are queued whatever else was named; a call that found none says why.
    if (songs.length === 0 && emptyFolders.length > 0) {
      throw new XumxError(
        'FILE_NOT_FOUND',
        `${emptyFolders[0]}: the folder holds no audio files (${AUDIO_EXTENSIONS.join(' ')})`,
        emptyFolders[0],
      );
    }
    // The recent files are a convenience: a data folder that is full or read-only must not keep a song whose stems
    // go elsewhere from opening, so their failure is a notice. Nothing after the checks above throws: a call that
    // reports an error has queued nothing (an upload is removed on an error; a job must not be left pointing at it).
    const opened = paths.map((p) => resolve(p));
    const unsaved = await this.deps.settings.addRecent(opened).then(
      () => null,
      (e: unknown) => asXumxError(e).message,
    );
    const jobs = songs.map((song) => {
      this.policy.allowChosen(song);
      return this.queue.add(song);
    });
    if (unsaved !== null) {
      const what = opened.length === 1 ? basename(opened[0]) : `${songs.length} songs`;
      this.emit({ type: 'notice', message: `${unsaved}; ${what} opened, but not added to the recent files` });
    }
    return jobs;
  }

  async listJobs(): Promise<JobView[]> {
    return this.queue.list().map((j) => this.withListen(j));
  }

  async retry(jobId: string): Promise<JobView> {
    return this.withListen(this.queue.retry(jobId) ?? unknownJob(jobId));
  }

  async cancel(jobId: string): Promise<JobView> {
    const job = this.queue.cancel(jobId) ?? unknownJob(jobId);
    // A running job is cancelled when the engine has stopped it (the queue's onDone); a queued one is at once.
    if (job.state === 'cancelled') this.releaseSong(job.input);
    return this.withListen(job);
  }

  /**
   * Lets the engine go of the song it keeps prepared for re-renders (a temporary file as large as the decoded song)
   * once no job of that song is left that could use it: finished (re-renders), running or queued.
   */
  private releaseSong(input: string): void {
    const used = this.queue.list().some((j) => j.input === input && j.state !== 'failed' && j.state !== 'cancelled');
    if (!used) void Promise.resolve(this.deps.engine.releaseSong?.(input)).catch(() => {});
  }

  /**
   * Frames [from, from + frames) of a kept render of a song, as far as they are final (or, for its newest re-render,
   * can be rendered from the estimate cache now), as a 32-bit float WAV. The doors pass the address's parts as given,
   * and `givenUp` where they can tell that the client went away.
   */
  listen(
    jobId: string,
    revision: string,
    from: string | null,
    frames: string | null,
    givenUp?: AbortSignal,
  ): Promise<ListenAnswer> {
    return this.listening.read(jobId, wholeNumber(revision), wholeNumber(from), wholeNumber(frames), givenUp);
  }

  /** What `listen` would answer, with the WAV's length instead of its bytes, decoding nothing (a HEAD request). */
  listenHead(jobId: string, revision: string, from: string | null, frames: string | null): Promise<ListenHead> {
    return this.listening.head(jobId, wholeNumber(revision), wholeNumber(from), wholeNumber(frames));
  }

  /** The job as the UI sees it: with the render to play and the one being made. */
  private withListen(job: JobView): JobView {
    const { listen, rerender, kept } = this.listening.views(job.id);
    const result = job.result && {
      ...job.result,
      notices: this.listening.notices(job.id, job.result.revision ?? 0, job.result.notices),
    };
    return {
      ...job,
      ...(result ? { result } : {}),
      listen,
      listenKept: kept,
      ...(job.rerender ? { rerender: { ...job.rerender, listen: rerender } } : {}),
    };
  }

  async remove(jobId: string): Promise<void> {
    const job = this.queue.get(jobId);
    if (!job || !this.queue.remove(jobId)) unknownJob(jobId);
    // A running job lets its song go when the engine has stopped it (the queue's onDone).
    if (job.state !== 'running') this.releaseSong(job.input);
    this.songControls.cancel(jobId);
    this.previews.drop(jobId);
    this.listening.drop(jobId);
    for (const k of this.peaksCache.keys()) if (k.startsWith(`${jobId}/`)) this.peaksCache.delete(k);
    this.emit({ type: 'job-removed', jobId });
  }

  async recentFiles(): Promise<string[]> {
    return this.deps.settings.recent();
  }

  /** The path of a finished stem, only if the policy lets the UI read it. Doors stream it from here. */
  stemFile(jobId: string, source: string): string {
    const job = this.queue.get(jobId) ?? unknownJob(jobId);
    // The source is the caller's text: only the job's own entries count, never what every object inherits.
    const path = job.result && Object.hasOwn(job.result.stemPaths, source) ? job.result.stemPaths[source] : undefined;
    if (!path)
      throw new XumxError('BAD_ARGUMENT', `${job.name} has no stem "${source}"${job.state === 'done' ? '' : ' yet'}`);
    if (!this.policy.canRead(path)) throw new XumxError('FILE_UNREADABLE', `${path}: not a file this app wrote`, path);
    return path;
  }

  async peaks(jobId: string, source: string, buckets: number): Promise<StemPeaks> {
    const key = `${jobId}/${source}/${buckets}`;
    const hit = this.peaksCache.get(key);
    if (hit) return hit;
    const path = this.stemFile(jobId, source);
    const { max, min, frames, sampleRate } = await stemFilePeaks(path, buckets, (p) =>
      this.decodeStem(p, { tags: false }),
    );
    const peaks: StemPeaks = { source, duration: frames / sampleRate, max: roundPeaks(max), min: roundPeaks(min) };
    this.peaksCache.set(key, peaks);
    return peaks;
  }

  async listenPeaks(jobId: string, revision: number, buckets: number): Promise<ListenPeaks | null> {
    if (!this.queue.get(jobId)) unknownJob(jobId);
    const found = await this.listening.peaks(jobId, revision);
    if (!found) return null;
    const { view, peaks } = found;
    const stems = view.sources.map((source, s) => ({
      source,
      ...peaksFromSpans({ peakFrames: peaks.peakFrames, min: peaks.min[s], max: peaks.max[s] }, view.frames, buckets),
    }));
    const bucketFrames = stems[0]?.bucketFrames ?? view.frames;
    return {
      revision,
      sampleRate: view.sampleRate,
      frames: view.frames,
      readyFrames: view.readyFrames,
      bucketFrames,
      stems: stems.map(({ source, max, min }) => ({
        source,
        duration: (max.length * bucketFrames) / view.sampleRate,
        max: roundPeaks(max),
        min: roundPeaks(min),
      })),
    };
  }

  exportStems(req: ExportStemsRequest): Promise<ExportResult> {
    return this.exportRun(req.exportId, async (run) => {
      const job = this.queue.get(req.jobId) ?? unknownJob(req.jobId);
      const paths = req.sources.map((s) => this.stemFile(req.jobId, s));
      const region = this.regionOf(job, req.region);
      const folder = await this.ensureFolder(req.folder);
      const files = req.sources.map((s) =>
        join(folder, exportName(`${songName(job.name)} - ${s}`, region, EXT[req.format])),
      );
      const before = await existing(files);
      if (!req.overwrite) refuseExisting(before);
      const shape = { region, timePitch: req.timePitch };
      const stems = await stemExports(paths, shape, this.decodeStem, run.signal);
      // All or nothing: a stem that fails or is cancelled takes the files written before it with it (a file replaced
      // stays replaced).
      const written: string[] = [];
      try {
        for (const [k, audio] of stems.entries()) {
          const part = { ...run, progress: (f: number) => run.progress?.((k + f) / stems.length) };
          await this.write(files[k], audio, req.format, req.bitDepth, audio.tags, part);
          if (!before.includes(files[k])) written.push(files[k]);
        }
      } catch (e) {
        for (const f of written) await rm(f, { force: true }).catch(() => {});
        throw e;
      } finally {
        await Promise.all(stems.map((a) => a.close()));
      }
      return { folder, files };
    });
  }

  exportMix(req: ExportMixRequest): Promise<ExportResult> {
    return this.exportRun(req.exportId, async (run) => {
      const job = this.queue.get(req.jobId) ?? unknownJob(req.jobId);
      const sources = Object.keys(req.gains);
      const paths = sources.map((s) => this.stemFile(req.jobId, s));
      const region = this.regionOf(job, req.region);
      const folder = await this.ensureFolder(req.folder);
      const out = join(folder, exportName(req.name, region, EXT[req.format]));
      if (!req.overwrite) refuseExisting(await existing([out]));
      const gains = sources.map((s) => req.gains[s]);
      const shape = { region, timePitch: req.timePitch };
      const mix = await mixExport(paths, gains, shape, this.decodeStem, run.signal);
      await this.write(out, mix, req.format, req.bitDepth, mixTags(mix.tags, job.result?.title, 'mix'), run);
      return { folder, files: [out] };
    });
  }

  exportStemFile(req: ExportStemFileRequest): Promise<ExportResult> {
    return this.exportRun(req.exportId, async ({ signal, progress }) => {
      const job = this.queue.get(req.jobId) ?? unknownJob(req.jobId);
      // Every stem of the song goes in (a residual one joins "other"); stemFile() says when the song is not done.
      const sources = [...new Set([...STEM_FILE_SOURCES, ...(job.result?.sources ?? [])])];
      const stemFiles = Object.fromEntries(sources.map((s) => [s, this.stemFile(req.jobId, s)]));
      const region = this.regionOf(job, req.region);
      const folder = await this.ensureFolder(req.folder);
      const out = join(folder, stemFileName(job.name, 1, region));
      if (!req.overwrite) refuseExisting(await existing([out]));
      const { codec, notice } = stemFileCodec(req.codec, req.bitDepth);
      let notices: string[];
      try {
        notices = await this.deps.audio.stemFileFromStemFiles(stemFiles, out, {
          codec,
          songTitle: job.result?.title,
          ...(region ? { region } : {}),
          ...(signal ? { signal } : {}),
          ...(progress ? { onProgress: progress } : {}),
        });
      } catch (e) {
        throw asXumxError(e, out);
      }
      this.policy.allowWritten(out);
      return { folder, files: [out], notices: [...(notice ? [notice] : []), ...notices] };
    });
  }

  async cancelExport(exportId: string): Promise<boolean> {
    const running = this.exports.get(exportId);
    running?.abort();
    return running !== undefined;
  }

  async getSongControls(jobId: string): Promise<SongControls> {
    const job = this.queue.get(jobId) ?? unknownJob(jobId);
    return this.songControls.controlsFor(job.input, await this.renderedControls(job));
  }

  async rerender(jobId: string, controls: SongControls): Promise<JobView> {
    return this.withListen(await this.songControls.rerender(jobId, controls));
  }

  previewRegion(jobId: string, controls: SongControls, start: number, seconds: number): Promise<RegionPreview> {
    return this.previews.render(jobId, controls, start, seconds);
  }

  /** One stem (a WAV) of a preview still kept, or (`source` null) all its stems in one; null otherwise. Doors serve it. */
  previewFile(jobId: string, id: string, source: string | null): Buffer | null {
    return this.previews.file(jobId, id, source);
  }

  async setSongTimePitch(jobId: string, timePitch: TimePitch): Promise<SongControls> {
    const job = this.queue.get(jobId) ?? unknownJob(jobId);
    return this.songControls.setTimePitch(job.input, timePitch, await this.renderedControls(job));
  }

  async setSongLoop(jobId: string, loop: SongLoop | null, on: boolean): Promise<SongControls> {
    const job = this.queue.get(jobId) ?? unknownJob(jobId);
    const song = this.songLength(job);
    return this.songControls.setLoop(
      job.input,
      songLoop(loop, song),
      countIn(on, song),
      await this.renderedControls(job),
    );
  }

  /**
   * The song's name and length, to check a loop or regions against: known once it is separated, and while it is
   * (the editor is open then, and the user may already choose them) from its listening copy.
   */
  private songLength(job: JobView): { name: string; duration: number } {
    if (job.state === 'done' && job.result) return { name: job.name, duration: job.result.duration };
    const { listen } = this.listening.views(job.id);
    if (job.state === 'running' && listen && listen.frames > 0)
      return { name: job.name, duration: listen.frames / listen.sampleRate };
    throw new XumxError('BAD_ARGUMENT', `${job.name} is not separated yet`);
  }

  async setSongRegions(jobId: string, regions: SongRegion[]): Promise<SongControls> {
    const job = this.queue.get(jobId) ?? unknownJob(jobId);
    const checked = songRegions(regions, this.songLength(job));
    return this.songControls.setRegions(job.input, checked, await this.renderedControls(job));
  }

  async listPresets(): Promise<Preset[]> {
    return this.songControls.listPresets();
  }

  savePreset(preset: Preset): Promise<Preset[]> {
    return this.songControls.savePreset(preset);
  }

  deletePreset(id: string): Promise<Preset[]> {
    return this.songControls.deletePreset(id);
  }

  private modelsService: ModelsService | null = null;

  /** Made on first use, so a door that never manages models never scans for downloads. */
  get models(): ModelsService {
    this.modelsService ??= new ModelsService({
      userDir: userModelsDir(),
      modelDirs: defaultModelDirs(),
      ...this.deps.models,
      settings: this.deps.settings,
      emit: (e) => this.emit(e),
    });
    return this.modelsService;
  }

  getModels(): Promise<ModelsView> {
    return this.models.view();
  }

  setDefaultModel(modelId: string | null): Promise<ModelsView> {
    return this.models.setDefault(modelId);
  }

  installModel(modelId: string): Promise<ModelInstallView> {
    return this.models.install(modelId);
  }

  pauseModelInstall(modelId: string): Promise<ModelInstallView> {
    return this.models.pause(modelId);
  }

  cancelModelInstall(modelId: string): Promise<ModelInstallView> {
    return this.models.cancel(modelId);
  }

  importModel(path: string, modelId?: string): Promise<ModelsView> {
    return this.models.import(path, modelId);
  }

  removeModel(modelId: string): Promise<ModelsView> {
    return this.models.remove(modelId);
  }

  /** What a song's stems were rendered with, or, while its first separation runs, what they get. */
  private async renderedControls(job: JobView): Promise<SeparationControls> {
    return job.result?.controls ?? startingControls(this.deps.settings.get(), await this.deps.engine.listModels());
  }

  private requestFor(input: string) {
    const s = this.deps.settings.get();
    return {
      input,
      outDir: s.outputFolder,
      modelId: s.modelId ?? undefined,
      ep: s.ep,
      format: s.format,
      bitDepth: s.bitDepth,
    };
  }

  async dispose(): Promise<void> {
    try {
      await this.modelsService?.dispose();
      this.queue.cancelAll();
      await this.queue.idle();
      await this.deps.engine.dispose();
      await this.listening.dispose();
    } finally {
      await this.deps.dataFolderLock?.release();
    }
  }

  /** For shutdown and tests: resolves when the queue has nothing left to run. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** The part of a finished song an export asks for, checked against the song; undefined for the whole song. */
  private regionOf(job: JobView, region: unknown): ExportRegion | undefined {
    if (region === undefined) return undefined;
    return exportRegion(region, { name: job.name, duration: job.result?.duration ?? 0 });
  }

  private readonly decodeStem: DecodeStem = (path, opts) => this.deps.audio.decodeStream(path, opts);

  private async ensureFolder(folder: string): Promise<string> {
    const abs = resolve(folder);
    try {
      await makeFolders(abs);
    } catch (e) {
      const err = asXumxError(e, abs);
      throw err.code === 'INTERNAL' || err.code === 'FILE_UNREADABLE'
        ? new XumxError('OUTPUT_NOT_WRITABLE', `${abs}: the folder cannot be created (${writeFailureReason(e)})`, abs)
        : err;
    }
    return abs;
  }

  /** Writes an export's blocks as they come, to a temporary file renamed into place when whole; closes its stems. */
  private async write(
    out: string,
    audio: ExportAudio,
    format: OutputFormat,
    bitDepth: ExportStemsRequest['bitDepth'],
    tags: AudioTags,
    run: ExportRun,
  ): Promise<void> {
    await writeExport(
      audio,
      out,
      () =>
        this.deps.audio.createStemWriter(out, {
          format,
          bitDepth,
          sampleRate: audio.sampleRate,
          channels: audio.channels,
          tags,
        }),
      run,
    );
    this.policy.allowWritten(out);
  }

  /**
   * Runs an export under its caller's exportId (none: it cannot be followed or stopped): cancelExport aborts its
   * signal, and its progress goes out as 'export-progress' events, at most every PROGRESS_EVENT_MS and only forward.
   */
  private async exportRun<T>(exportId: string | undefined, work: (run: ExportRun) => Promise<T>): Promise<T> {
    if (exportId === undefined) return work({});
    if (this.exports.has(exportId)) throw new XumxError('BAD_ARGUMENT', `an export ${exportId} is already running`);
    const stop = new AbortController();
    this.exports.set(exportId, stop);
    let last = -Infinity;
    let told = 0;
    const every = this.deps.exportProgressMs ?? PROGRESS_EVENT_MS;
    const progress = (fraction: number) => {
      const now = Date.now();
      if (now - last < every || fraction <= told) return;
      last = now;
      told = fraction;
      this.emit({ type: 'export-progress', exportId, fraction });
    };
    try {
      return await work({ signal: stop.signal, progress });
    } catch (e) {
      // Stopped before anything was written too (while waiting for a re-render to land): said the same way.
      const err = asXumxError(e);
      if (stop.signal.aborted && err.code === 'CANCELLED') {
        const file = err.file ?? '';
        throw new XumxError(
          'CANCELLED',
          `${file ? `${file}: ` : ''}the export was cancelled; nothing was written`,
          file,
        );
      }
      throw e;
    } finally {
      this.exports.delete(exportId);
    }
  }
}

/** Least time between two 'export-progress' events of one export. */
const PROGRESS_EVENT_MS = 250;

/** A whole number written in decimal digits, or NaN (which the reader refuses with a reason). */
function wholeNumber(text: string | null): number {
  return text !== null && /^\d{1,15}$/.test(text) ? Number(text) : NaN;
}

function unknownJob(jobId: string): never {
  throw new XumxError('BAD_ARGUMENT', `no song with id ${jobId} in the queue`);
}

/** Those of `files` that are there. */
async function existing(files: string[]): Promise<string[]> {
  const there: string[] = [];
  for (const f of files)
    if (
      await lstat(f).then(
        () => true,
        () => false,
      )
    )
      there.push(f);
  return there;
}

/** An export replaces files only when the call says so; the UI asks the user first. `there`: existing(its files). */
function refuseExisting(there: string[]): void {
  if (there.length === 0) return;
  const more = there.length > 1 ? ` (and ${there.length - 1} more of this export)` : '';
  throw new XumxError(
    'OUTPUT_EXISTS',
    `${there[0]}: a file of that name is already there${more}; nothing was written`,
    there[0],
  );
}
