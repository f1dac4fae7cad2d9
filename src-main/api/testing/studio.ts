// A StudioService for unit tests: the browser door's capabilities over the in-memory engine and codecs (fakes.ts),
// its settings in a temporary folder of its own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Capabilities } from '../contract.ts';
import { StudioService, type StudioServiceDeps } from '../service.ts';
import { defaultSettings, openSettingsStore, type SettingsStore } from '../settings-store.ts';
import { FakeEngine, MemoryAudio } from './fakes.ts';

/** What the browser door can do: the door the service's unit tests stand in for. */
export const WEB_DOOR: Capabilities = { door: 'web', nativeDialogs: false, reveal: false, upload: true };

export interface FakeStudio {
  /** The temporary folder: settings.json, stems/ (the default output folder) and whatever a test puts there. */
  dir: string;
  audio: MemoryAudio;
  engine: FakeEngine;
  settings: SettingsStore;
  service: StudioService;
  /** Removes the folder. */
  done(): Promise<void>;
}

/**
 * A service over a FakeEngine whose stems are `frames` long (FakeEngine's default when absent), in a new folder
 * named from `prefix`; `deps` adds to what it gets or replaces it, given the folder and the in-memory codecs.
 */
export async function fakeStudio(
  prefix: string,
  o: {
    frames?: number;
    deps?: (dir: string, audio: MemoryAudio) => Partial<StudioServiceDeps> | Promise<Partial<StudioServiceDeps>>;
  } = {},
): Promise<FakeStudio> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const audio = new MemoryAudio();
  const engine = new FakeEngine(audio, o.frames);
  const settings = await openSettingsStore(join(dir, 'settings.json'), defaultSettings(join(dir, 'stems')));
  const service = new StudioService({
    engine,
    audio,
    settings,
    capabilities: WEB_DOOR,
    ...(await o.deps?.(dir, audio)),
  });
  return { dir, audio, engine, settings, service, done: () => rm(dir, { recursive: true, force: true }) };
}
