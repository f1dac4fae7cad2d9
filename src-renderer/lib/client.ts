// The UI's handle on the app: the StudioApi contract plus the few things that differ by door (how files are
// chosen, how folders are picked, revealing files). Two implementations: IPC (Electron preload) and HTTP (browser).
import type { JobView, ModelsView, StudioApi, StudioEvent } from '../../src-main/api/contract.ts';

export interface StudioClient extends StudioApi {
  onEvent(listener: (e: StudioEvent) => void): () => void;
  /** Same-origin URL of a finished stem's audio. */
  stemUrl(jobId: string, source: string): string;
  /** Same-origin URL of frames [from, from + frames) of a render's listening copy (a float WAV, all stems). */
  listenUrl(jobId: string, revision: number, from: number, frames: number): string;
  /** Same-origin URL of one stem (a WAV) of a preview made by previewRegion; without a source, all its stems in one. */
  previewUrl(jobId: string, id: string, source?: string): string;
  /** Native open dialog (Electron); resolves to the songs added, or [] when dismissed. */
  chooseFiles(): Promise<JobView[]>;
  /** Native folder dialog (Electron); null when dismissed or not available. */
  chooseFolder(initial?: string): Promise<string | null>;
  /** Songs from a drop or a file input: paths in Electron, uploads in the browser. */
  addFiles(files: File[]): Promise<JobView[]>;
  /** Native open dialog for a model file (Electron), then its import; null when dismissed or not available. */
  chooseModelFile(): Promise<ModelsView | null>;
  /** Imports a chosen or dropped model file: by its path in Electron, as an upload in the browser. */
  importModelFile(file: File): Promise<ModelsView>;
  reveal(path: string): Promise<void>;
}

/** The object the Electron preload puts on window (see src-main/electron/preload.ts). */
export interface PreloadBridge {
  call(
    method: string,
    args: unknown[],
  ): Promise<{ ok: true; value: unknown } | { ok: false; error: { code: string; message: string } }>;
  onEvent(listener: (e: StudioEvent) => void): () => void;
  chooseFiles(): Promise<{ ok: true; value: unknown } | { ok: false; error: { code: string; message: string } }>;
  chooseModelFile(): Promise<{ ok: true; value: unknown } | { ok: false; error: { code: string; message: string } }>;
  chooseFolder(initial?: string): Promise<string | null>;
  pathForFile(file: File): string;
  reveal(path: string): Promise<void>;
}

export class ApiCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Builds the StudioApi half of a client from one "call by name" function. */
export function apiOver(call: (method: string, args: unknown[]) => Promise<unknown>): StudioApi {
  const m = <K extends keyof StudioApi>(name: K) => ((...args: unknown[]) => call(name, args)) as StudioApi[K];
  return {
    capabilities: m('capabilities'),
    listModels: m('listModels'),
    getSettings: m('getSettings'),
    updateSettings: m('updateSettings'),
    open: m('open'),
    listJobs: m('listJobs'),
    retry: m('retry'),
    cancel: m('cancel'),
    remove: m('remove'),
    peaks: m('peaks'),
    listenPeaks: m('listenPeaks'),
    exportStems: m('exportStems'),
    exportMix: m('exportMix'),
    exportStemFile: m('exportStemFile'),
    cancelExport: m('cancelExport'),
    recentFiles: m('recentFiles'),
    getSongControls: m('getSongControls'),
    rerender: m('rerender'),
    previewRegion: m('previewRegion'),
    setSongTimePitch: m('setSongTimePitch'),
    setSongRegions: m('setSongRegions'),
    setSongLoop: m('setSongLoop'),
    listPresets: m('listPresets'),
    savePreset: m('savePreset'),
    deletePreset: m('deletePreset'),
    getModels: m('getModels'),
    setDefaultModel: m('setDefaultModel'),
    installModel: m('installModel'),
    pauseModelInstall: m('pauseModelInstall'),
    cancelModelInstall: m('cancelModelInstall'),
    importModel: m('importModel'),
    removeModel: m('removeModel'),
  };
}

export function stemUrl(jobId: string, source: string): string {
  return `/api/stems/${encodeURIComponent(jobId)}/${encodeURIComponent(source)}`;
}

/** One stem of a preview, or (no source) all its stems in one WAV, two channels each in the preview's order. */
export function previewUrl(jobId: string, id: string, source?: string): string {
  const base = `/api/previews/${encodeURIComponent(jobId)}/${encodeURIComponent(id)}`;
  return source === undefined ? base : `${base}/${encodeURIComponent(source)}`;
}

/** Frames [from, from + frames) of a render of a song: one 32-bit float WAV, two channels per stem in its order. */
export function listenUrl(jobId: string, revision: number, from: number, frames: number): string {
  return `/api/listen/${encodeURIComponent(jobId)}/${revision}?from=${from}&frames=${frames}`;
}
