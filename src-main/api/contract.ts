// The one typed contract between the UI and the app: the Electron preload (IPC) and the browser-mode bridge
// (HTTP + WebSocket) both carry exactly these calls and events to the same StudioService.
// Type-only: the renderer imports this file too, so nothing here may pull in Node code.
import type { Preset, TimePitch } from '../engine/index.ts';
import type {
  BitDepth,
  EpChoice,
  EpName,
  EpSkip,
  ModelInfo,
  ModelInstallStage,
  ModelOrigin,
  ModelQuality,
  OutputFormat,
  Progress,
  SeparationControls,
  SeparationOk,
  SongAnalysis,
  Stage,
  Timings,
} from '../engine/types.ts';

export type {
  BitDepth,
  EpChoice,
  EpName,
  EpSkip,
  ModelInfo,
  ModelInstallStage,
  ModelOrigin,
  ModelQuality,
  OutputFormat,
  Preset,
  Progress,
  SeparationControls,
  SongAnalysis,
  Stage,
  TimePitch,
  Timings,
};

/** A song's separation controls as the UI shows them, saved per song. */
export interface SongControls {
  controls: SeparationControls;
  /** The preset these controls came from, while unchanged; null for hand-set controls. */
  presetId: string | null;
  /** Tempo and key the song is practised at (played and exported); absent: its own. Not a separation setting. */
  timePitch?: TimePitch;
  /** Named parts of the song (verse, solo…) to loop, song seconds, in the user's order. Not a separation setting. */
  regions?: SongRegion[];
  /** The loop the song was left with (null: none selected) and whether playback counts in. Not a separation setting. */
  loop?: SongLoop | null;
  countIn?: boolean;
}

/** The part of a song selected on the timeline (song seconds), and whether playback wraps over it. */
export interface SongLoop {
  start: number;
  end: number;
  active: boolean;
}

export interface SongRegion {
  name: string;
  start: number;
  end: number;
}

export interface ApiError {
  code: string;
  message: string;
}

export interface Settings {
  /** Model id; null picks the first installed model. */
  modelId: string | null;
  ep: EpChoice;
  /** Where separated stems go: <outputFolder>/<song name>/<source>.<ext>, or "<song name> (2)"… for another song of that name. */
  outputFolder: string;
  format: OutputFormat;
  bitDepth: BitDepth;
  /** Wiener iterations a song never adjusted is separated with; null: its model's recommended number. */
  wienerIterations: number | null;
  /** The user closed the notice that offers the official weights while only the bundled model is installed. */
  modelOfferDismissed: boolean;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** A finished song as the UI sees it: the engine's result with stem paths for display and the re-render state. */
export interface JobResultView extends Pick<
  SeparationOk,
  | 'sampleRate'
  | 'duration'
  | 'modelId'
  | 'ep'
  | 'epSkipped'
  | 'epTimings'
  | 'timings'
  | 'notices'
  | 'estimates'
  | 'title'
  | 'artist'
  | 'analysis'
> {
  /** Source names in the model's order. */
  sources: string[];
  /** Where each stem was written (shown to the user; reading goes through stemUrl, never a path). */
  stemPaths: Record<string, string>;
  /** The controls the stems were rendered with. */
  controls?: SeparationControls;
  /**
   * The render the stems hold (0: the first separation): stem audio changed under the same paths whenever this
   * grows. Numbers are never reused; a re-render replaced or cancelled before it finished leaves its number out.
   */
  revision?: number;
}

/** A re-render with new controls in progress for a finished song (its old stems stay playable meanwhile). */
export interface RerenderView {
  progress: Progress | null;
  error: ApiError | null;
  /** The render in progress (its new revision, known from the re-render's first 'job' event); becomes JobView.listen when done. */
  listen?: ListenView | null;
}

/**
 * A render's listening copy: every stem interleaved at the song's rate, fetched in blocks at
 * `/api/listen/<jobId>/<revision>?from=<frame>&frames=<n>` (a 32-bit float WAV, stem i in channels 2i and 2i+1).
 * Only final frames are ever served: those no later chunk of the render changes.
 */
export interface ListenView {
  /** The render this copy belongs to (JobResultView.revision once it is done). */
  revision: number;
  /** The song's own rate (what stems are written at). */
  sampleRate: number;
  /** The song's length in frames at that rate. */
  frames: number;
  /** Frames from 0 that are final and can be fetched; == frames when complete. */
  readyFrames: number;
  /**
   * The render has finished. Its copy may still have fewer readyFrames: one dropped over the disk cap starts again
   * from 0 and is written again from the stems once a block of it is asked for.
   */
  complete: boolean;
  /** Stems in the copy, in order (model order; "residual" last when the controls ask for it). */
  sources: string[];
  /**
   * Why the render could not write its copy (its stems are fine): it has no frames, and once the render is done it
   * is written again from the stems when a block of it is asked for.
   */
  notWritten?: string;
  /**
   * Why a dropped copy could not be written again from the song's stem files (readyFrames stays 0, blocks answer
   * with the same message): the song is silent until a block asked for later succeeds. null otherwise.
   */
  error: ApiError | null;
}

export interface JobView {
  id: string;
  /** Path of the song as the user chose it. */
  input: string;
  /** File name shown in the queue. */
  name: string;
  state: JobState;
  progress: Progress | null;
  result: JobResultView | null;
  error: ApiError | null;
  rerender?: RerenderView | null;
  /**
   * What the player plays now: during the first separation the copy being written (readyFrames grows with 'job'
   * events, a few a second at most), afterwards the current render's. null while nothing is known yet.
   */
  listen?: ListenView | null;
  /**
   * The finished renders whose listening copies are kept, newest first: those the A/B switch can go to. A long song's
   * render before the current one goes when the copies are over their cap and no player reads it.
   */
  listenKept?: number[];
}

/** Min/max per bucket of one stem, both channels merged; values in [-1, 1]. */
export interface StemPeaks {
  source: string;
  duration: number;
  max: number[];
  min: number[];
}

/**
 * A render's waveforms from its listening copy: every stem's peaks over the whole song, in at most the buckets asked
 * for, each `bucketFrames` frames, with values only as far as the copy's frames are final (the buckets beyond are 0).
 * A bucket holds exactly its own frames' extremes, so the buckets span a little more than the song (less than one
 * bucket): each StemPeaks' `duration` is their span, not the song's.
 */
export interface ListenPeaks {
  revision: number;
  sampleRate: number;
  frames: number;
  /** Frames from 0 the peaks cover: the copy's readyFrames when they were read. */
  readyFrames: number;
  bucketFrames: number;
  /** In the render's stem order. */
  stems: StemPeaks[];
}

export interface ExportStemsRequest {
  jobId: string;
  sources: string[];
  folder: string;
  format: OutputFormat;
  bitDepth: BitDepth;
  /** Replace files already there; without it such an export fails with OUTPUT_EXISTS and writes nothing. */
  overwrite?: boolean;
  /** Written at this tempo and key; absent (or tempo 1, 0 semitones): the stems' samples unchanged. */
  timePitch?: TimePitch;
  /** Only this part of the song (then stretched like the whole); the file names say which part. Absent: all of it. */
  region?: ExportRegion;
  /**
   * The caller's name for this export (an id: letters, digits, "_" or "-"), to follow it ('export-progress' events)
   * and stop it (cancelExport). Absent: neither.
   */
  exportId?: string;
}

/** Seconds of the song's own time, 0 ≤ start < end ≤ its duration: frames round(start·rate) to round(end·rate). */
export interface ExportRegion {
  start: number;
  end: number;
}

export interface ExportMixRequest {
  jobId: string;
  /** Linear gain per source after mute/solo/master (0 = silent); sources left out are silent. */
  gains: Record<string, number>;
  folder: string;
  /** File name without extension, e.g. "Song (no vocals)"; trimmed to a visible name, refused when none is left. */
  name: string;
  format: OutputFormat;
  bitDepth: BitDepth;
  overwrite?: boolean;
  /** As for ExportStemsRequest: each stem is stretched, then they are mixed, as the player does. */
  timePitch?: TimePitch;
  region?: ExportRegion;
  exportId?: string;
}

/** All of a song's stems as one Native Instruments stem file (`<song>.stem.mp4`) for DJ software. */
export interface ExportStemFileRequest {
  jobId: string;
  folder: string;
  /** AAC at 256 kbit/s, or lossless ALAC at `bitDepth` (16, or 24 for 24 and 32f). */
  codec: 'aac' | 'alac';
  bitDepth: BitDepth;
  overwrite?: boolean;
  /** As for ExportStemsRequest; the stem file is always at the song's own tempo and key. */
  region?: ExportRegion;
  exportId?: string;
}

export interface ExportResult {
  folder: string;
  files: string[];
  /** What the user may want to know about the written files (a changed rate or depth, clipping). */
  notices?: string[];
}

/** What the door in use can do beyond the shared calls (native dialogs in Electron, uploads in the browser). */
export interface Capabilities {
  door: 'electron' | 'web';
  nativeDialogs: boolean;
  reveal: boolean;
  upload: boolean;
}

export type ModelInstallState = 'running' | 'paused' | 'failed' | 'done' | 'cancelled';

/**
 * One install of published weights. `paused` keeps the partial download (also across restarts: a partial file on
 * disk shows up as a paused install); installModel again resumes it. `failed` with a network error resumes too.
 */
export interface ModelInstallView {
  /** The id the model is installed under. */
  modelId: string;
  name: string;
  state: ModelInstallState;
  stage: ModelInstallStage;
  /** Bytes downloaded so far, including those of earlier runs. */
  received: number;
  /** Size of the download, null while unknown. */
  total: number | null;
  /** Download speed over the last seconds; null when not downloading or not yet measurable. */
  bytesPerSecond: number | null;
  secondsLeft: number | null;
  error: ApiError | null;
}

/** Weights the app can download and convert. */
export interface InstallableModel {
  modelId: string;
  name: string;
  license: string;
  /** Bytes to download (the published size, or an estimate from the network's parameter count). */
  downloadBytes: number;
  /** downloadBytes is the published size; false: an estimate, shown as "about". */
  downloadSizeKnown: boolean;
  /** Free disk space an install needs: the download plus the converted network. */
  diskBytesNeeded: number;
  installed: boolean;
}

/** Everything the Models view shows. */
export interface ModelsView {
  models: ModelInfo[];
  /** The model new songs are separated with: the chosen one while it is installed, else the first listed; null if none. */
  defaultModelId: string | null;
  installable: InstallableModel[];
  installs: ModelInstallView[];
}

/** A part of a song rendered with new controls (previewRegion); its stems are 32-bit float WAVs kept for a while. */
export interface RegionPreview {
  /** Names the preview in its stems' URLs (`/api/previews/<jobId>/<id>/<source>`). */
  id: string;
  jobId: string;
  sampleRate: number;
  /** First sample of the part at the song's rate, and its length (cut to the song's end). */
  startFrame: number;
  frames: number;
  /** The stems it has, in the model's order ("residual" last when the controls ask for it). */
  sources: string[];
}

export interface StudioApi {
  capabilities(): Promise<Capabilities>;
  listModels(): Promise<ModelInfo[]>;
  getSettings(): Promise<Settings>;
  updateSettings(patch: Partial<Settings>): Promise<Settings>;
  /** Adds songs (files, or folders searched for audio) to the queue; they separate one after another. */
  open(paths: string[]): Promise<JobView[]>;
  listJobs(): Promise<JobView[]>;
  /** Queues a failed or cancelled job again. */
  retry(jobId: string): Promise<JobView>;
  cancel(jobId: string): Promise<JobView>;
  remove(jobId: string): Promise<void>;
  peaks(jobId: string, source: string, buckets: number): Promise<StemPeaks>;
  /**
   * The peaks of a kept render of a song (see JobView.listen) as far as it is final, while it is written too; null
   * when that render's listening copy is not kept (then `peaks` reads the stem files).
   */
  listenPeaks(jobId: string, revision: number, buckets: number): Promise<ListenPeaks | null>;
  exportStems(req: ExportStemsRequest): Promise<ExportResult>;
  exportMix(req: ExportMixRequest): Promise<ExportResult>;
  exportStemFile(req: ExportStemFileRequest): Promise<ExportResult>;
  /**
   * Stops the export of that exportId: its call then fails with CANCELLED and none of its files is left (a file it
   * was told to replace and had already replaced stays replaced), unless it was already renaming its last file into
   * place. False when no such export is running (it ended).
   */
  cancelExport(exportId: string): Promise<boolean>;
  recentFiles(): Promise<string[]>;
  /** A finished song's current controls (saved per song; defaults for a song never adjusted). */
  getSongControls(jobId: string): Promise<SongControls>;
  /**
   * Renders a finished song's stems again with new controls (from the estimate cache: no network run), saves them
   * as the song's controls and resolves with the job once the new stems are in place. A newer call for the same
   * song supersedes this one, which then fails with CANCELLED.
   */
  rerender(jobId: string, controls: SongControls): Promise<JobView>;
  /**
   * Renders `seconds` of a finished song from `start` (seconds) with new controls, beside a running re-render, so the
   * player can hear a change at the playhead before the whole song is re-rendered: from the estimate cache in a
   * fraction of a second, or, for a song the cache does not hold (longer than its cap), through the network on the
   * part's chunks (about a second). Nothing is saved; the stems' audio is fetched at the preview's URLs. NOT_CACHED
   * from an engine without an estimate cache.
   */
  previewRegion(jobId: string, controls: SongControls, start: number, seconds: number): Promise<RegionPreview>;
  /** Saves the tempo and key a song is practised at with its controls (no re-render); resolves with its controls. */
  setSongTimePitch(jobId: string, timePitch: TimePitch): Promise<SongControls>;
  /** Replaces a song's named regions (saved with its controls); resolves with its controls. */
  setSongRegions(jobId: string, regions: SongRegion[]): Promise<SongControls>;
  /** Saves the song's loop selection (null: none), whether it loops, and the count-in toggle; resolves with its controls. */
  setSongLoop(jobId: string, loop: SongLoop | null, countIn: boolean): Promise<SongControls>;
  /** Built-in presets first, then the user's. */
  listPresets(): Promise<Preset[]>;
  /** Adds or replaces a user preset; resolves with every preset. */
  savePreset(preset: Preset): Promise<Preset[]>;
  deletePreset(id: string): Promise<Preset[]>;
  /** Installed models with origin, size, precision and quality, the default one, what can be installed, running installs. */
  getModels(): Promise<ModelsView>;
  /** The model for new songs (saved as settings.modelId); null: the first installed. Refused unless installed. */
  setDefaultModel(modelId: string | null): Promise<ModelsView>;
  /**
   * Starts downloading and converting published weights (or resumes a paused or failed install) and resolves at once;
   * progress comes as 'model-install' events, the finished model as a 'models' event.
   */
  installModel(modelId: string): Promise<ModelInstallView>;
  /** Stops the download and keeps what was received; installModel resumes it. */
  pauseModelInstall(modelId: string): Promise<ModelInstallView>;
  /** Stops and removes the partial download and any half-converted folder. */
  cancelModelInstall(modelId: string): Promise<ModelInstallView>;
  /** Installs an x-umx.h5 (as `modelId`, default the official id), a model folder or a .zip of one; resolves when done. */
  importModel(path: string, modelId?: string): Promise<ModelsView>;
  /** Removes a downloaded or imported model; stems already separated with it stay. */
  removeModel(modelId: string): Promise<ModelsView>;
}

export type ApiMethod = keyof StudioApi;

/** Panels a native menu item opens in the renderer. */
export type MenuAction = 'export' | 'settings' | 'models';

export type StudioEvent =
  | { type: 'job'; job: JobView }
  | { type: 'job-removed'; jobId: string }
  | { type: 'settings'; settings: Settings }
  | { type: 'model-install'; install: ModelInstallView }
  /** The installed models or the default one changed. */
  | { type: 'models'; models: ModelsView }
  /** A door-level request from a native menu, e.g. "export" pressed in the menu bar. */
  | { type: 'menu'; action: MenuAction }
  /** How far a running export with an exportId is, 0 to 1: at most every 250 ms. */
  | { type: 'export-progress'; exportId: string; fraction: number }
  /** What went wrong beside a call that still did its work (e.g. the recent files could not be saved). */
  | { type: 'notice'; message: string };

export { AUDIO_EXTENSIONS, BIT_DEPTHS, EP_CHOICES, OUTPUT_FORMATS } from '../engine/types.ts';
