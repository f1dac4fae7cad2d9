// Where stems go, and how a song's stems change all at once: DIR/<song's folder>/<source>.<ext> (stem-folder.ts
// picks the folder), each written under a
// hidden temporary name (temp-files.ts) and renamed only when every stem is complete. The commit
//   1. checks every target, so that a folder in the way fails the job before anything has moved;
//   2. writes a journal (`.stems.xumx-<pid>-….commit`): per stem its temporary name and, where a stem of that name
//      exists, the name the old one is set aside under (`.<source>.<ext>.xumx-<pid>-….aside`);
//   3. renames the old stems aside, then the new ones into place;
//   4. removes the journal — from here on the new set is the song's — and then the old stems.
// A failure in 2–3 puts the old stems back. A process killed in 2–3 leaves its journal behind: the next job that
// writes into the folder sees that the journal's owner has ended and puts the old stems back in the same way
// (sweepStemFolder), and removes every temporary file that ended processes left. A song's stems are all new or
// all old, whatever fails and wherever a job is killed. A failed job also removes the folders it created.
import { constants } from 'node:fs';
import { access, lstat, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileIdentity } from '../audio/regular-file.ts';
import { outputError } from '../output-error.ts';
import { ownerKey, removeStaleTemps, staleTemps, tempName } from '../temp-files.ts';
import { songName } from './song-name.ts';
import { claimStemFolder, releaseStemFolder, type StemFolder } from './stem-folder.ts';
import { lockStemFolder, type FolderLock } from './folder-lock.ts';

/** Fails early, before any decoding, when `outDir` cannot be created or written. */
export async function checkOutputWritable(outDir: string): Promise<void> {
  let dir = resolve(outDir);
  for (;;) {
    try {
      const st = await stat(dir);
      if (!st.isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
      await access(dir, constants.W_OK | constants.X_OK);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(dir) === dir) throw outputError(err, outDir);
      dir = dirname(dir);
    }
  }
}

/** One stem in a commit's journal; names are relative to the stem folder. */
interface JournalEntry {
  final: string;
  temp: string;
  /** The new stem's identity (fileIdentity), which a rename keeps: tells it from any other file at `final`. */
  id: string;
  /** Where the old stem of that name is set aside; null when there was none. */
  aside: string | null;
}

export class StemOutputs {
  /** Final path per source. */
  readonly paths: Record<string, string> = {};
  /** What the sweep of the folders could not clean up. */
  readonly notices: string[] = [];
  private readonly temps: Record<string, string> = {};
  private folder: StemFolder | null = null;
  /** Held from the claim until the commit or the discard: sweeping and committing need the folder to themselves. */
  private lock: FolderLock | null = null;

  private constructor(
    readonly dir: string,
    readonly sources: string[],
    readonly ext: string,
  ) {
    for (const s of sources) {
      this.paths[s] = join(dir, `${s}.${ext}`);
      this.temps[s] = join(dir, tempName(`${s}.${ext}`));
    }
  }

  /** Creates the stem folder and clears what ended processes left in it and in the output folder. */
  static async create(outDir: string, input: string, sources: string[], ext: string): Promise<StemOutputs> {
    let folder: StemFolder;
    try {
      folder = await claimStemFolder(outDir, input);
    } catch (err) {
      throw outputError(err, join(resolve(outDir), songName(input)));
    }
    const out = new StemOutputs(folder.dir, sources, ext);
    out.folder = folder;
    try {
      out.lock = await lockStemFolder(out.dir);
      await access(out.dir, constants.W_OK);
    } catch (err) {
      await out.discard();
      throw outputError(err, out.dir);
    }
    out.notices.push(...(await sweepStemFolder(out.dir)), ...(await removeStaleTemps(dirname(out.dir))));
    return out;
  }

  tempPath(source: string): string {
    return this.temps[source];
  }

  /** Puts every complete stem in place at once: see the top of this file. */
  async commit(): Promise<void> {
    const entries: JournalEntry[] = [];
    for (const s of this.sources) {
      const st = await lstat(this.paths[s]).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw outputError(err, this.paths[s]);
      });
      if (st?.isDirectory())
        throw outputError(Object.assign(new Error('a folder is in the way'), { code: 'EISDIR' }), this.paths[s]);
      const final = basename(this.paths[s]);
      const id = fileIdentity(
        await lstat(this.temps[s], { bigint: true }).catch((err) => {
          throw outputError(err, this.paths[s]);
        }),
      );
      entries.push({ final, temp: basename(this.temps[s]), id, aside: st ? tempName(final, 'aside') : null });
    }
    const journal = join(this.dir, tempName('stems', 'commit'));
    // What an error names: the stem being moved, else the stem folder (never a hidden file).
    let current = this.dir;
    try {
      const fh = await open(journal, 'wx');
      try {
        await fh.writeFile(JSON.stringify({ stems: entries }));
        await fh.sync(); // the journal must be whole before the first rename
      } finally {
        await fh.close();
      }
      for (const e of entries) {
        current = join(this.dir, e.final);
        if (e.aside) await rename(current, join(this.dir, e.aside));
      }
      for (const e of entries) {
        current = join(this.dir, e.final);
        await rename(join(this.dir, e.temp), current);
      }
      current = this.dir;
      await unlink(journal);
    } catch (err) {
      // Should putting back fail too, the journal stays: the first job here after this process has ended finishes it.
      const undone = await putBack(this.dir, entries).then(
        () => true,
        () => false,
      );
      if (undone) await unlink(journal).catch(() => {});
      throw outputError(err, current);
    }
    for (const e of entries) if (e.aside) await rm(join(this.dir, e.aside), { force: true }).catch(() => {});
    await this.unlock();
  }

  private async unlock(): Promise<void> {
    await this.lock?.release();
    this.lock = null;
  }

  /** Removes whatever this job wrote, and the folders it created when they are empty. */
  async discard(): Promise<void> {
    for (const s of this.sources) await rm(this.temps[s], { force: true }).catch(() => {});
    await this.unlock();
    if (!this.folder) return;
    await releaseStemFolder(this.folder);
    if (this.folder.createdFrom) await removeEmptyFolders(this.dir, this.folder.createdFrom);
  }
}

/**
 * Removes `dir` and the folders above it up to `outermost` (what `mkdir -p` made for a job that failed), each only
 * while it is empty: a folder another job has written into meanwhile stays.
 */
export async function removeEmptyFolders(dir: string, outermost: string): Promise<void> {
  const levels = relative(outermost, dir).split(/[\\/]/).filter(Boolean).length;
  for (let i = 0; i <= levels; i++, dir = dirname(dir)) {
    // A level already gone (the stem folder's own release removes it) is passed over on the way up.
    const left = await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : ['?']));
    if (left.length > 0) return;
    await rmdir(dir).catch(() => {});
  }
}

/**
 * Undoes a commit that did not reach its end: the old stems that were set aside go back, and the new stems that
 * moved in where no old one was go. A file at a stem's name that is neither (a later job's stem) is left alone.
 * Safe to repeat, so a sweep that is itself interrupted is finished by the next one.
 */
async function putBack(dir: string, entries: JournalEntry[]): Promise<void> {
  const missing = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  };
  for (const e of entries) {
    const final = join(dir, e.final);
    const there = await lstat(final, { bigint: true }).then(fileIdentity, (err: NodeJS.ErrnoException) => {
      missing(err);
      return null;
    });
    const mine = there === e.id;
    if (e.aside) {
      // The old stem, if it was set aside and not yet put back.
      const aside = join(dir, e.aside);
      if (there === null || mine) await rename(aside, final).catch(missing);
      else await unlink(aside).catch(missing);
    } else if (mine) {
      await unlink(final);
    }
  }
}

/**
 * Finishes what ended processes left in a stem folder: their commits are undone (the old stems come back), then
 * their temporary files go. Returns a notice for each thing it could not clean up.
 */
export async function sweepStemFolder(dir: string): Promise<string[]> {
  const notices: string[] = [];
  const unresolved = new Set<string>();
  for (const t of (await staleTemps(dir)).filter((x) => x.kind === 'commit')) {
    const path = join(dir, t.file);
    try {
      const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (text === null) continue; // another job finished it meanwhile
      // A journal cut short was never complete, so no stem had moved yet: there is nothing to undo.
      const entries = parseJournal(text);
      if (entries) await putBack(dir, entries);
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    } catch (err) {
      unresolved.add(ownerKey(t));
      notices.push(
        `${dir}: cannot undo the unfinished replacement of these stems by an interrupted job (${(err as Error).message})`,
      );
    }
  }
  return [...notices, ...(await removeStaleTemps(dir, unresolved))];
}

function parseJournal(text: string): JournalEntry[] | null {
  try {
    const entries = (JSON.parse(text) as { stems?: unknown }).stems;
    const name = (x: unknown) => typeof x === 'string' && x !== '' && basename(x) === x;
    const valid = (e: JournalEntry) =>
      name(e?.final) && name(e?.temp) && typeof e.id === 'string' && (e.aside === null || name(e.aside));
    if (!Array.isArray(entries) || !entries.every(valid)) return null;
    return entries as JournalEntry[];
  } catch {
    return null;
  }
}
