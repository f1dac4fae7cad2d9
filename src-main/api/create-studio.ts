// Wires the real engine and codecs into a StudioService. Both doors (Electron main, browser-mode server) start
// the app through here, so they share one settings file, one data folder and one queue implementation.
import { rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  asXumxError,
  createEngine,
  createStemWriter,
  decodeFile,
  decodeStream,
  defaultModelDirs,
  loadDspKernels,
  removeAbandonedSongs,
  removeStaleTemps,
  stemFileFromStemFiles,
  userModelsDir,
  XumxError,
} from '../engine/index.ts';
import type { Capabilities } from './contract.ts';
import { StudioService } from './service.ts';
import { lockDataFolder, type DataFolderLock } from './data-folder-lock.ts';
import { defaultSettings, openSettingsStore } from './settings-store.ts';
import { openControlsStore } from './controls-store.ts';
import { withModelFallback, type ModelsServiceDeps } from './models.ts';

export interface StudioOptions {
  capabilities: Capabilities;
  /** Settings, uploads; default: the per-user xumx-studio data folder the engine also uses for models. */
  dataDir?: string;
  modelDirs?: string[];
  /** Where the app installs downloaded and imported models; default: the per-user models folder. */
  userModelsDir?: string;
  /** Tests only: lets random-weight test models load. */
  allowTestModels?: boolean;
  /** Default stems folder when the settings name none. */
  outputFolder?: string;
  /** Tests only: where published weights are fetched from, and a stand-in for the free-space query. */
  modelInstall?: Pick<ModelsServiceDeps, 'urlFor' | 'statfs'>;
  /** Tests only: where the engine keeps prepared songs; default: the engine's folder in the system's temporary folder. */
  songFolder?: string;
  /**
   * Tests and benches only: the estimate cache's size cap in bytes, to see what it does with a song larger than it on
   * a short song; default DEFAULT_CACHE_BYTES (about half an hour of audio).
   */
  estimateCacheBytes?: number;
  /** How the user of this door picks another data folder (e.g. `--data DIR`), for when this one is in use. */
  otherDataFolder?: string;
}

/** The per-user data folder: ~/.local/share/xumx-studio, %APPDATA%\xumx-studio, ~/Library/Application Support/xumx-studio. */
export function appDataDir(): string {
  return dirname(userModelsDir());
}

export function defaultOutputFolder(): string {
  return join(homedir(), 'Music', 'X-UMX Studio');
}

export interface Studio {
  service: StudioService;
  dataDir: string;
  /** Browser mode's uploaded songs; emptied at start. */
  uploadDir: string;
  notice: string | null;
  /** Settles when the engine's worker is ready for the first song (Engine.warmUp). */
  engineWarm: Promise<void>;
}

/**
 * Takes the data folder for this app (refusing with OUTPUT_BUSY, before touching anything in it, while another app
 * has it: data-folder-lock.ts) and starts the service; `service.dispose()` gives the folder back.
 */
export async function createStudio(opts: StudioOptions): Promise<Studio> {
  const dataDir = resolve(opts.dataDir ?? appDataDir());
  // Else every save would fail on its own, each in the system's words.
  if ((await stat(dataDir).catch(() => null))?.isDirectory() === false)
    throw new XumxError(
      'BAD_ARGUMENT',
      `${dataDir}: is a file, not a folder (the app keeps its settings and songs' data in a folder)`,
      dataDir,
    );
  const lock = await lockDataFolder(dataDir, { otherFolder: opts.otherDataFolder });
  try {
    return await startStudio(opts, dataDir, lock);
  } catch (e) {
    await lock.release();
    throw e;
  }
}

async function startStudio(opts: StudioOptions, dataDir: string, lock: DataFolderLock): Promise<Studio> {
  // What follows cleans up after an earlier app; the lock makes sure that app is not still running.
  // A settings or controls save cut short by a crash leaves its temporary file; the files themselves are whole.
  await removeStaleTemps(dataDir);
  // Uploads are copies kept only while their song is in the queue, and the queue lives in memory: copies left by an
  // earlier run belong to no song any more. A song uploaded again gets the same path (named by its content), so it
  // still finds its stems and its saved controls. Without the lock (a folder that cannot be written, a full disk)
  // another app may be using them.
  const uploadDir = join(dataDir, 'uploads');
  const uploadsLeft = !lock.held
    ? null
    : await rm(uploadDir, { recursive: true, force: true }).then(
        () => null,
        (e: unknown) => `${uploadDir}: songs uploaded before could not be removed (${asXumxError(e).message})`,
      );
  const settings = await openSettingsStore(
    join(dataDir, 'settings.json'),
    defaultSettings(resolve(opts.outputFolder ?? defaultOutputFolder())),
  );
  // The estimate cache lets a finished song re-render with new controls without running the network again.
  const userDir = opts.userModelsDir ?? userModelsDir();
  const modelDirs = [...(opts.modelDirs ?? defaultModelDirs())];
  // What the app installs must be where the engine looks.
  if (opts.userModelsDir && !modelDirs.includes(userDir)) modelDirs.push(userDir);
  // Prepared songs (as large as the decoded song) that an app which was killed left behind go now.
  await removeAbandonedSongs(opts.songFolder);
  // Before the engine: a failure here leaves no worker running.
  const kernels = await loadDspKernels();
  const engine = createEngine({
    modelDirs,
    allowTestModels: opts.allowTestModels,
    cache: {
      dir: join(dataDir, 'estimate-cache'),
      ...(opts.estimateCacheBytes !== undefined ? { maxBytes: opts.estimateCacheBytes } : {}),
    },
    ...(opts.songFolder !== undefined ? { songFolder: opts.songFolder } : {}),
  });
  // Started now rather than by the first song, which would otherwise wait for the worker and its DSP threads before
  // it is decoded, and for the chosen model's session (the longest step before its first sound) before its first
  // chunk (bench/first-sound.bench.ts). The session is the one the jobs keep anyway; it costs its memory from the
  // start instead of from the first song. A default model since removed opens nothing here: the first job falls
  // back to another and opens that.
  const chosen = settings.get();
  const engineWarm = engine.warmUp({ modelId: chosen.modelId ?? undefined, ep: chosen.ep });
  const controls = await openControlsStore(dataDir);
  // Listening copies live while the app runs; those of an app that was killed go now.
  const listenDir = join(dataDir, 'listening');
  await removeStaleTemps(listenDir);
  const service = new StudioService({
    // A default model that was removed falls back to the first installed one instead of failing every song.
    engine: withModelFallback(engine),
    // Exports convert their samples to integers on this thread's kernels (the same bytes as the JavaScript
    // reference, 8x faster for dithered 16-bit: ~0.6 s less per 3-minute stem).
    audio: {
      decodeFile,
      decodeStream,
      createStemWriter: (path, o) => createStemWriter(path, { ...o, kernels }),
      stemFileFromStemFiles: (files, path, o) => stemFileFromStemFiles(files, path, { ...o, kernels }),
    },
    settings,
    capabilities: opts.capabilities,
    controls,
    models: { userDir, modelDirs, allowTestModels: opts.allowTestModels, ...opts.modelInstall },
    listenDir,
    dataFolderLock: lock,
  });
  const notices = [lock.notice, uploadsLeft, settings.notice, ...controls.notices].filter(
    (n): n is string => n !== null,
  );
  return { service, dataDir, uploadDir, notice: notices.length ? notices.join('\n') : null, engineWarm };
}
