// Per-song separation controls and the user's own presets, persisted as JSON in the app data folder
// (song-controls.json, presets.json). Like the settings file: saved through store-file.ts, and a damaged file means
// "start empty, say so once", never "the app does not start". A file that cannot be loaded (damaged, or written by a
// version with other rules) is copied aside first: the next save replaces it, and the user's presets must not go
// with it.
import { constants } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { asXumxError, parsePreset, parsePresetFile, type Preset, serializePresetFile } from '../engine/index.ts';
import type { SongControls } from './contract.ts';
import { storeFile } from './store-file.ts';
import { songControls as checkSongControls } from './validate-controls.ts';

export interface ControlsStore {
  /** The user's presets (built-in ones are not stored). */
  userPresets(): Preset[];
  savePreset(p: Preset): Promise<void>;
  deletePreset(id: string): Promise<boolean>;
  /** Controls last used for a song (by its path), or null for a song never adjusted. */
  song(input: string): SongControls | null;
  /**
   * Saves a song's controls; given a function, it gets the song's controls as saved by every earlier call (saves
   * queue), so two saves in flight (regions and tempo, say) each keep the other's part. Resolves with what was saved.
   */
  setSong(input: string, controls: SongControls | SongUpdate): Promise<SongControls>;
  readonly notices: string[];
}

export type SongUpdate = (saved: SongControls | null) => SongControls;

/** Songs remembered; the oldest adjusted song is forgotten first. */
const MAX_SONGS = 1000;

export function memoryControlsStore(): ControlsStore {
  const presets = new Map<string, Preset>();
  const songs = new Map<string, SongControls>();
  return {
    userPresets: () => [...presets.values()],
    async savePreset(p) {
      presets.set(p.id, p);
    },
    async deletePreset(id) {
      return presets.delete(id);
    },
    song: (input) => songs.get(input) ?? null,
    async setSong(input, c) {
      const next = typeof c === 'function' ? c(songs.get(input) ?? null) : c;
      songs.delete(input);
      songs.set(input, next);
      return next;
    },
    notices: [],
  };
}

export async function openControlsStore(dataDir: string): Promise<ControlsStore> {
  const presetsFile = join(dataDir, 'presets.json');
  const songsFile = join(dataDir, 'song-controls.json');
  const notices: string[] = [];
  let presets: Preset[] = [];
  let songs = new Map<string, SongControls>();

  const text = async (file: string) =>
    readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') notices.push(`${file}: could not be read (${e.message})`);
      return null;
    });
  const presetsText = await text(presetsFile);
  if (presetsText !== null) {
    try {
      presets = parsePresetFile(presetsText, presetsFile);
    } catch (e) {
      notices.push(`${(e as Error).message}; your presets were not loaded${await keptAside(presetsFile)}`);
    }
  }
  const songsText = await text(songsFile);
  if (songsText !== null) {
    try {
      const raw = JSON.parse(songsText) as { version?: number; songs?: Record<string, unknown> };
      if (raw.version !== 1 || typeof raw.songs !== 'object' || raw.songs === null)
        throw new Error('not a version 1 file');
      for (const [input, c] of Object.entries(raw.songs)) songs.set(input, checkSongControls(c));
    } catch (e) {
      songs.clear();
      notices.push(
        `${songsFile}: ignored (${(e as Error).message}); songs start with default controls${await keptAside(songsFile)}`,
      );
    }
  }

  const presetsDisk = storeFile(presetsFile);
  const songsDisk = storeFile(songsFile);
  const savePresets = (next: () => Preset[]) =>
    presetsDisk.save(() => {
      const list = next();
      const commit = () => {
        presets = list;
      };
      return { text: serializePresetFile(list), commit };
    });

  return {
    userPresets: () => [...presets],
    async savePreset(p) {
      const checked = parsePreset({ ...p, builtIn: undefined }, 'preset');
      await savePresets(() => [...presets.filter((x) => x.id !== checked.id), checked]);
    },
    async deletePreset(id) {
      if (!presets.some((p) => p.id === id)) return false;
      await savePresets(() => presets.filter((p) => p.id !== id));
      return true;
    },
    song: (input) => songs.get(input) ?? null,
    async setSong(input, c) {
      return songsDisk.save(() => {
        const saved = typeof c === 'function' ? c(songs.get(input) ?? null) : c;
        const next = new Map(songs);
        next.delete(input);
        next.set(input, saved);
        while (next.size > MAX_SONGS) next.delete(next.keys().next().value as string);
        const commit = () => {
          songs = next;
          return saved;
        };
        return { text: `${JSON.stringify({ version: 1, songs: Object.fromEntries(next) }, null, 2)}\n`, commit };
      });
    },
    notices,
  };
}

/**
 * Copies a file that could not be loaded to `<name>.unreadable.json` (or `… (2)`, … when that is taken) beside it;
 * the notice's tail saying where, or why it could not be.
 */
async function keptAside(file: string): Promise<string> {
  const stem = join(dirname(file), basename(file, extname(file)));
  for (let n = 1; n <= 100; n++) {
    const aside = `${stem}.unreadable${n > 1 ? ` (${n})` : ''}.json`;
    try {
      await copyFile(file, aside, constants.COPYFILE_EXCL);
      return ` (the file is kept as ${aside})`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        return ` (it could not be kept aside: ${asXumxError(e).message}, so the next save replaces it)`;
    }
  }
  return ` (it could not be kept aside: ${stem}.unreadable.json and 99 more are taken, so the next save replaces it)`;
}
