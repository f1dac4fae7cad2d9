// Settings persisted as JSON in the app data folder. A missing or damaged file falls back to defaults (and the
// damage is reported once as a notice) rather than stopping the app from starting.
import { readFile } from 'node:fs/promises';
import type { Settings } from './contract.ts';
import { storeFile } from './store-file.ts';
import { settingsPatch } from './validate.ts';

export function defaultSettings(outputFolder: string): Settings {
  return {
    modelId: null,
    ep: 'auto',
    outputFolder,
    format: 'wav',
    bitDepth: 24,
    wienerIterations: null,
    modelOfferDismissed: false,
  };
}

export interface SettingsStore {
  get(): Settings;
  update(patch: Partial<Settings>): Promise<Settings>;
  /** Most recent first. */
  recent(): string[];
  addRecent(paths: string[]): Promise<void>;
  /** Set when the file on disk could not be read and defaults were used. */
  readonly notice: string | null;
}

/**
 * The settings file's version. Files without one were written while the app's own default was 1 Wiener iteration,
 * which every such file holds whether or not the user chose it; they are read with that field as null (the model's
 * recommendation) so that a model recommending more is not overridden by a value nobody picked.
 */
export const SETTINGS_FILE_VERSION = 2;

interface StoredFile {
  version?: number;
  settings: Settings;
  recent: string[];
}

const MAX_RECENT = 10;

export async function openSettingsStore(file: string, defaults: Settings): Promise<SettingsStore> {
  let settings = { ...defaults };
  let recent: string[] = [];
  let notice: string | null = null;
  try {
    const raw = JSON.parse(await readFile(file, 'utf8')) as Partial<StoredFile>;
    // Field by field: one value a newer rule refuses (a relative folder an older version kept) costs only itself.
    const stored: unknown = raw.settings ?? {};
    const refused: string[] = [];
    if (stored !== null && typeof stored === 'object' && !Array.isArray(stored)) {
      for (const [key, value] of Object.entries(stored)) {
        try {
          settings = { ...settings, ...settingsPatch({ [key]: value }) };
        } catch (e) {
          refused.push((e as Error).message);
        }
      }
    } else {
      refused.push('settings must be an object');
    }
    if (raw.version === undefined && settings.wienerIterations === 1) settings.wienerIterations = null;
    if (refused.length) notice = `${file}: some settings ignored (${refused.join('; ')}); using the defaults for them`;
    if (Array.isArray(raw.recent))
      recent = raw.recent.filter((p): p is string => typeof p === 'string').slice(0, MAX_RECENT);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      notice = `${file}: could not be read (${(e as Error).message}); using defaults`;
  }

  const disk = storeFile(file);
  const text = (next: Omit<StoredFile, 'version'>) =>
    JSON.stringify({ version: SETTINGS_FILE_VERSION, ...next }, null, 2);

  return {
    get: () => ({ ...settings }),
    update(patch) {
      return disk.save(() => {
        const next = { ...settings, ...patch };
        const commit = () => {
          settings = next;
          return { ...next };
        };
        return { text: text({ settings: next, recent }), commit };
      });
    },
    recent: () => [...recent],
    addRecent(paths) {
      return disk.save(() => {
        const next = [...paths, ...recent.filter((p) => !paths.includes(p))].slice(0, MAX_RECENT);
        const commit = () => {
          recent = next;
        };
        return { text: text({ settings, recent: next }), commit };
      });
    },
    get notice() {
      return notice;
    },
  };
}
