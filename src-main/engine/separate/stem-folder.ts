// Which folder of the output folder a song's stems go to. Every door separates through the engine, so this is the
// one rule for all of them: <out>/<song name>, or "<song name> (2)", "(3)"… when that folder already holds the
// stems of another file. A hidden mark in each stem folder names the file its stems came from, so a song separated
// again (by any door, in any later run) gets its own folder back and replaces only its own stems.
import { lstat, mkdir, readdir, readFile, realpath, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { XumxError } from '../errors.ts';
import { songName } from './song-name.ts';
import { makeFolders } from '../folders.ts';

/** The hidden file in a stem folder holding the absolute path of the song its stems came from. */
export const SONG_MARK = '.xumx-song';

/** A mark holds one path; anything larger is not one of ours. */
const MAX_MARK_BYTES = 64 * 1024;

/** Numbered folders (and stem files) tried before giving up: far more same-named songs than anyone keeps. */
export const MAX_NUMBER = 1000;

/** What a mark records of a song: its real path (a link to it is the same song). */
export async function songIdentity(input: string): Promise<string> {
  return realpath(input).catch(() => resolve(input));
}

/** A stem folder this job may write into, and what it must undo if the job fails. */
export interface StemFolder {
  dir: string;
  /** This job made the folder. */
  created: boolean;
  /** This job wrote the folder's mark (a new or empty folder). */
  marked: boolean;
  /** The outermost folder this job created (the output folder or one above it, else the stem folder); null if none. */
  createdFrom: string | null;
}

/** The stem folder of `input` in `outDir`, made and marked as its own; safe against other jobs choosing at once. */
export async function claimStemFolder(outDir: string, input: string): Promise<StemFolder> {
  const out = resolve(outDir);
  const owner = await songIdentity(input);
  const base = songName(input);
  const madeOut = (await makeFolders(out)) ?? null;
  for (let n = 1; n <= MAX_NUMBER; n++) {
    const dir = join(out, n === 1 ? base : `${base} (${n})`);
    const created = await mkdir(dir).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') return false;
        throw err;
      },
    );
    // A link in a stem folder's place would take the stems wherever it points: in the way, like a file.
    if (!created && (await lstat(dir)).isSymbolicLink()) continue;
    const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      // A file of that name is in the way: the next number is as good a folder.
      if (err.code === 'ENOTDIR') return null;
      throw err;
    });
    if (entries === null) continue;
    if (entries.includes(SONG_MARK)) {
      if ((await markedOwner(dir)) === owner) return { dir, created: false, marked: false, createdFrom: madeOut };
      continue;
    }
    // A folder with files and no mark is the user's, or from a version without marks: never written into.
    if (entries.length > 0) continue;
    try {
      await writeFile(join(dir, SONG_MARK), owner, { flag: 'wx' });
      return { dir, created, marked: true, createdFrom: madeOut ?? (created ? dir : null) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        if (created) await rm(dir, { recursive: true, force: true });
        throw err;
      }
      // Another job claimed this empty folder first; it may be the same song.
      if ((await markedOwner(dir)) === owner) return { dir, created: false, marked: false, createdFrom: madeOut };
    }
  }
  throw new XumxError(
    'OUTPUT_NOT_WRITABLE',
    `${join(out, base)}: ${MAX_NUMBER} stem folders of that name are taken by other songs`,
    join(out, base),
  );
}

/** Undoes a claim whose job wrote nothing: removes the mark it wrote and the folder it made, if nothing else is there. */
export async function releaseStemFolder(folder: StemFolder): Promise<void> {
  if (!folder.marked) return;
  const left = await readdir(folder.dir).catch(() => null);
  if (left?.length !== 1 || left[0] !== SONG_MARK) return;
  await rm(join(folder.dir, SONG_MARK), { force: true });
  if (folder.created) await rmdir(folder.dir).catch(() => {});
}

async function markedOwner(dir: string): Promise<string | null> {
  return songMarkOwner(join(dir, SONG_MARK));
}

/** The song a mark names; null when the mark is not a small plain file (a named pipe would block the read). */
export async function songMarkOwner(mark: string): Promise<string | null> {
  const st = await lstat(mark).catch(() => null);
  if (!st?.isFile() || st.size > MAX_MARK_BYTES) return null;
  return readFile(mark, 'utf8').catch(() => null);
}
