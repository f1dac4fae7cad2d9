// Which file of the output folder a song's stem file goes to: the rule of stem folders (stem-folder.ts) for one
// file. `<out>/<song>.stem.mp4`, or `<song> (2).stem.mp4`, "(3)"… when that name holds another song's stem file or
// a file this app did not make. A hidden mark beside each stem file, `.<file name>.xumx-song`, names the song it
// was made from, so a song made into a stem file again replaces only its own.
import { lstat, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { XumxError } from '../errors.ts';
import { stemFileName } from './song-name.ts';
import { MAX_NUMBER, songIdentity, songMarkOwner as markedOwner } from './stem-folder.ts';

export interface StemFileClaim {
  path: string;
  /** Undoes the claim of a stem file that was not written: removes the mark if this claim wrote it. */
  release(): Promise<void>;
}

/** The mark naming the song a stem file was made from. */
export function stemFileMark(path: string): string {
  const at = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1;
  return `${path.slice(0, at)}.${path.slice(at)}.xumx-song`;
}

/** The path in `outDir` the stem file of `input` may be written to, marked as that song's. */
export async function claimStemFile(outDir: string, input: string): Promise<StemFileClaim> {
  const out = resolve(outDir);
  const owner = await songIdentity(input);
  const own = (path: string) => ({ path, release: async () => {} });
  for (let n = 1; n <= MAX_NUMBER; n++) {
    const path = join(out, stemFileName(input, n));
    const mark = stemFileMark(path);
    const there = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (there !== null) {
      // A link would take the file wherever it points, and a folder cannot be replaced: in the way, like a
      // file without a mark (the user's own, or from a version without marks), which is never replaced.
      if (there.isFile() && (await markedOwner(mark)) === owner) return own(path);
      continue;
    }
    try {
      await writeFile(mark, owner, { flag: 'wx' });
      return { path, release: () => rm(mark, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Claimed by a run that is writing it now, or left by one that failed: the same song's, or passed over.
      if ((await markedOwner(mark)) === owner) return own(path);
    }
  }
  const first = join(out, stemFileName(input));
  throw new XumxError(
    'OUTPUT_NOT_WRITABLE',
    `${first}: ${MAX_NUMBER} stem files of that name are taken by other songs`,
    first,
  );
}
