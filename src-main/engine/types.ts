// Shared types of the separation engine: the one API that the CLI, the Electron preload and the
// browser-mode bridge all adapt. Nothing here imports Electron, HTTP or terminal code.
import type { ErrorCode } from './errors.ts';
import type { TimePitch } from './dsp/time-pitch-settings.ts';

// The lists below are the one declaration of each set of choices; the types follow from them, and every door
// (validators, CLI, settings) takes its list from here.

/** The execution providers the engine knows. */
export const EP_NAMES = ['cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const;
export type EpName = (typeof EP_NAMES)[number];
/** What a user may ask for: a provider, or `auto` (the fastest that works). */
export const EP_CHOICES = ['auto', ...EP_NAMES] as const;
export type EpChoice = (typeof EP_CHOICES)[number];

export interface EpSkip {
  ep: EpName;
  reason: string;
}

/** A provider's measured time for one network run on its own chunk plan (`auto` times a GPU against the CPU). */
export interface EpTiming {
  ep: EpName;
  batch: number;
  frames: number;
  seconds: number;
}

/** Planar audio: one Float32Array per channel, all the same length, at `sampleRate`. */
export interface PcmAudio {
  sampleRate: number;
  channels: Float32Array[];
}

/** Formats a stem is written in, one file per stem. */
export const OUTPUT_FORMATS = ['wav', 'flac', 'mp3'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
/** A stem's name, as a model's manifest declares it and every door accepts it: lower case, a letter first, ≤ 32. */
export const SOURCE_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/** Sample formats of a written stem: 16- or 24-bit integers, or 32-bit float. */
export const BIT_DEPTHS = [16, 24, '32f'] as const;
export type BitDepth = (typeof BIT_DEPTHS)[number];

/**
 * What a separation reports it is doing (`Progress.stage`), in the order a job reaches them; the app names each one in
 * its queue (src-renderer/lib/queue.ts), the CLI prints it as it is. `wiener` is a chunk's whole DSP (controls,
 * Wiener filter, ISTFT: one step, often on a DSP thread).
 */
export const STAGES = ['load-model', 'decode', 'resample', 'stft', 'network', 'wiener', 'encode', 'write'] as const;
export type Stage = (typeof STAGES)[number];

export interface Progress {
  /** Overall fraction of the job done, 0..1. */
  fraction: number;
  stage: Stage;
  /** Seconds left, null while unknown. */
  etaSeconds: number | null;
}

export interface Timings {
  decode: number;
  stft: number;
  network: number;
  wiener: number;
  istft: number;
  encode: number;
}

/**
 * Per-instrument separation controls (dsp/controls.ts). strength 1 / bleed 0 leaves the estimate unchanged; in a
 * complete set a source with no entry has that neutral value (a model's recommended controls are laid under a
 * request's partial set once, by the engine: controlsForModel).
 */
export interface SeparationControls {
  wienerIterations: number;
  softmask: boolean;
  /** true: what the sources leave over gets its own "residual" stem; false: it goes to "other" when that exists. */
  residual: boolean;
  strength?: Record<string, number>;
  bleed?: Record<string, number>;
}

/**
 * What a request's controls leave out: the model's recommended controls (`model`, the default), or the neutral ones
 * (`neutral`: the request holds a complete set, such as a song's saved controls, or asks for the network as it is).
 */
export const CONTROLS_BASES = ['model', 'neutral'] as const;
export type ControlsBase = (typeof CONTROLS_BASES)[number];

export interface SeparateRequest {
  input: string;
  outDir: string;
  modelId?: string;
  ep?: EpChoice;
  format?: OutputFormat;
  bitDepth?: BitDepth;
  /** Laid over the model's recommended controls per field and per source, or over the neutral ones (`controlsBase`). */
  controls?: Partial<SeparationControls>;
  controlsBase?: ControlsBase;
  /** Tempo and key the stems are written at; absent (or tempo 1, 0 semitones): the song's own, samples untouched. */
  timePitch?: TimePitch;
}

/**
 * A job's listening copy: the render also written, as its chunks become final, into the file at `path` (every
 * stem's two channels at the song's own rate and tempo, in blocks as separate/listening-copy.ts lays them out;
 * removed when the job fails), and `onReady` told how far it is.
 */
export interface ListenCopyHooks {
  path: string;
  onReady(l: ListenProgress): void;
}

/** How far a render's listening copy is: frames from 0 that no later chunk changes, and what the copy holds. */
export interface ListenProgress {
  sampleRate: number;
  /** The song's length in frames at its own rate. */
  frames: number;
  readyFrames: number;
  /** Stems in the copy, in its channel order (two channels each). */
  sources: string[];
  /**
   * Why the copy could not be written (its folder cannot be written, the disk is full): it is gone and holds no
   * frames, while the render and its stems go on. Absent while the copy is being written.
   */
  notWritten?: string;
}

export interface StemFiles {
  [source: string]: string;
}

export interface SeparationOk {
  input: string;
  ok: true;
  stems: StemFiles;
  sampleRate: number;
  /** Seconds. */
  duration: number;
  modelId: string;
  ep: EpName;
  epSkipped: EpSkip[];
  /** `auto`'s measurements when it timed a GPU provider against the CPU (the reason for its choice); else empty. */
  epTimings: EpTiming[];
  timings: Timings;
  notices: string[];
  /** What the stems were rendered with: the request's controls over the model's recommended ones (or neutral ones). */
  controls: SeparationControls;
  /** Where the network estimates came from: a fresh network run, or the estimate cache (a re-render). */
  estimates?: 'network' | 'cache';
  /** The song's title and artist from its tags, when it has them (the stems carry all its tags). */
  title?: string;
  artist?: string;
  /** Tempo, beats, bars and key, measured after separation; absent for a song too short to measure. */
  analysis?: SongAnalysis;
}

/** The twelve pitch classes from C, as the song's key is shown. */
export const PITCH_CLASSES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'] as const;
export type PitchClassName = (typeof PITCH_CLASSES)[number];

/** What the analysis measured of a song; times in seconds from its start. */
export interface SongAnalysis {
  /** Beats (quarter notes in 4/4 and 3/4) per minute. */
  bpm: number;
  beats: number[];
  /** The first beat of each bar: a subset of `beats`. */
  downbeats: number[];
  beatsPerBar: 3 | 4;
  /** null for a song without pitched notes. */
  key: { tonic: PitchClassName; mode: 'major' | 'minor' } | null;
  /**
   * How clearly the music showed each, in [0, 1]: tempo, the onsets' autocorrelation at the beat period (steady
   * drums ≈ 0.5–0.9, rubato far less); key, the chroma's correlation with the key's profile (≈ 0.6–0.95 for tonal music).
   */
  confidence: { tempo: number; key: number };
}

export interface SeparationFailed {
  input: string;
  ok: false;
  error: { code: ErrorCode; message: string };
}

export type SeparationResult = SeparationOk | SeparationFailed;

/** A part of a song, in samples at the song's own rate (the stems' rate). */
export interface Region {
  start: number;
  frames: number;
}

/**
 * The stems of a part of a song with a request's controls, rendered from the estimate cache only (no network, nothing
 * written): the same samples, as floats, that a full re-render writes for that part. `start` and `frames` are the
 * part asked for, cut to the song's length.
 */
export interface RegionOk {
  input: string;
  ok: true;
  sampleRate: number;
  start: number;
  frames: number;
  /** Per stem (the model's sources, then "residual" when asked for), planar stereo. */
  stems: Record<string, Float32Array[]>;
}

/** NOT_CACHED: the song's estimates are not in the estimate cache (never separated here, evicted, or no cache). */
export type RegionResult = RegionOk | SeparationFailed;

/** How a model got onto this machine: shipped with the app, downloaded by it, or imported by the user. */
export type ModelOrigin = 'bundled' | 'downloaded' | 'imported';

/** Steps of installing published weights: the download, then the conversion's stages. */
export type ModelInstallStage = 'download' | 'validate' | 'read' | 'build' | 'write';

/** Scores a manifest records for one evaluation set. */
export interface ModelQuality {
  /** Published by the weights' authors, or measured by this project. */
  kind: 'published' | 'measured';
  /** What was measured on, e.g. "MUSDB18 test set". */
  set: string;
  /** How, e.g. "median SDR in dB (museval)". */
  measure: string;
  /** dB per source. */
  sdr: Record<string, number>;
}

export interface ModelInfo {
  id: string;
  name: string;
  architecture: string;
  sources: string[];
  sampleRate: number;
  license: string;
  /** Where the weights come from (training data, conversion). */
  provenance: string;
  dir: string;
  bundled: boolean;
  origin: ModelOrigin;
  /** Bytes of every file in the model's folder. */
  sizeOnDisk: number;
  /** Numeric types of the network's weights, e.g. "float32", "float16", "int8 + float32"; "unknown" if unreadable. */
  precision: string;
  quality: ModelQuality[];
  metrics?: Record<string, unknown>;
  /** The controls a separation with this model starts from: its manifest's recommended ones, else neutral. */
  defaultControls: SeparationControls;
}

/** File names the open dialogs offer and folders expand to. Decoding goes by the bytes, whatever the name. */
export const AUDIO_EXTENSIONS = [
  '.wav',
  '.wave',
  '.aif',
  '.aiff',
  '.aifc',
  '.flac',
  '.mp3',
  '.ogg',
  '.oga',
  '.opus',
  '.m4a',
  '.m4b',
  '.mp4',
  '.mov',
  '.aac',
  '.webm',
  '.mka',
] as const;
