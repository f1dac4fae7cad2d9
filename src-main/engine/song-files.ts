// The songs a user names, for every door (the app's open and drop, the CLI's arguments): a file stays as named (the
// engine says what is wrong with it); a folder yields the audio files inside it and in its subfolders down to
// MAX_FOLDER_DEPTH levels (artist/album/disc/track), hidden names skipped, each folder's entries in name order. A song
// or folder reached twice (named twice, or through a link) is taken once.
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { AUDIO_EXTENSIONS } from './types.ts';

/** Folder levels searched below a named folder. */
export const MAX_FOLDER_DEPTH = 4;

export interface SongFiles {
  /** In the order named, each folder's songs in name order. */
  files: string[];
  /** Folders named that hold no audio file at any searched level. */
  emptyFolders: string[];
}

export async function songFiles(paths: string[]): Promise<SongFiles> {
  const seen = new Set<string>();
  const files: string[] = [];
  const emptyFolders: string[] = [];
  for (const path of paths) {
    const found = await expand(path, 0, seen);
    if (found === null) emptyFolders.push(path);
    else files.push(...found);
  }
  return { files, emptyFolders };
}

export function isAudioName(name: string): boolean {
  return (AUDIO_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
}

/** The songs under `path`; null for a folder without any (a folder only reached again gives []). */
async function expand(path: string, depth: number, seen: Set<string>): Promise<string[] | null> {
  // A path that does not resolve (missing) stays, for the engine to report, once.
  const real = await realpath(path).catch(() => resolve(path));
  if (seen.has(real)) return [];
  seen.add(real);
  const info = await stat(path).catch(() => null);
  if (!info?.isDirectory()) return [path];
  if (depth >= MAX_FOLDER_DEPTH) return null;
  const names = (await readdir(path).catch(() => [] as string[]))
    .filter((n) => !n.startsWith('.'))
    .sort((a, b) => a.localeCompare(b));
  const out: string[] = [];
  let any = false;
  for (const name of names) {
    const p = join(path, name);
    const s = await stat(p).catch(() => null);
    if (!s?.isDirectory() && !(s?.isFile() && isAudioName(name))) continue;
    const found = await expand(p, depth + 1, seen);
    if (found === null) continue;
    any = true;
    out.push(...found);
  }
  return any || out.length > 0 ? out : null;
}
