// Where stems go and how they appear there all at once: DIR/<song's folder>/<source>.<ext> (stem-folder.ts picks the
// folder), written under hidden temporary names and renamed only when every stem is complete, so a failed or
// cancelled job leaves nothing.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { XumxError } from '../errors.ts';
import { songName } from './song-name.ts';
import { claimStemFolder, releaseStemFolder, type StemFolder } from './stem-folder.ts';

/** Output-side file-system errors: every one means "cannot write there", except a full disk. */
export function outputError(err: unknown, path: string): XumxError {
  if (err instanceof XumxError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC') return new XumxError('DISK_FULL', `${path}: the disk is full`, path, { cause: err });
  const why: Record<string, string> = {
    EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'the file system is read-only',
    ENOTDIR: 'a part of the path is a file, not a folder', EEXIST: 'a file with that name is in the way',
    EISDIR: 'a folder with that name is in the way',
  };
  const reason = why[e?.code ?? ''] ?? (e?.message ?? String(err));
  return new XumxError('OUTPUT_NOT_WRITABLE', `${path}: cannot write output here (${reason})`, path, { cause: err });
}

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

export class StemOutputs {
  /** Final path per source. */
  readonly paths: Record<string, string> = {};
  private readonly temps: Record<string, string> = {};
  private folder: StemFolder | null = null;
  private readonly committed: string[] = [];

  private constructor(readonly dir: string, readonly sources: string[], readonly ext: string) {
    const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
    for (const s of sources) {
      this.paths[s] = join(dir, `${s}.${ext}`);
      this.temps[s] = join(dir, `.${s}.${tag}.partial.${ext}`);
    }
  }

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
      await access(out.dir, constants.W_OK);
    } catch (err) {
      await releaseStemFolder(folder);
      throw outputError(err, out.dir);
    }
    return out;
  }

  tempPath(source: string): string {
    return this.temps[source];
  }

  /** Renames every complete stem to its final name. */
  async commit(): Promise<void> {
    for (const s of this.sources) {
      try {
        await rename(this.temps[s], this.paths[s]);
        this.committed.push(this.paths[s]);
      } catch (err) {
        throw outputError(err, this.paths[s]);
      }
    }
  }

  /** Removes whatever this job wrote, and the stem folder when this job created it and it is empty. */
  async discard(): Promise<void> {
    for (const s of this.sources) await rm(this.temps[s], { force: true }).catch(() => {});
    // A commit that failed half-way: the stems already renamed are this job's too, and incomplete as a set.
    for (const p of this.committed.splice(0)) await rm(p, { force: true }).catch(() => {});
    if (this.folder) await releaseStemFolder(this.folder);
  }
}
