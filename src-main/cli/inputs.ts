// Command-line inputs → the audio files to separate. Folders expand to the audio files directly inside them.
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { AUDIO_EXTENSIONS } from '../api/contract.ts';
import { asXumxError, XumxError } from '../engine/errors.ts';


export interface InputProblem {
  input: string;
  error: XumxError;
}

export interface ExpandedInputs {
  /** Files to separate, in command-line order, folders' files sorted by name. */
  files: string[];
  /** Inputs that cannot be separated before even trying (missing path, empty folder). */
  problems: InputProblem[];
}

export async function expandInputs(inputs: string[]): Promise<ExpandedInputs> {
  const files: string[] = [];
  const problems: InputProblem[] = [];
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = (await stat(input)).isDirectory();
    } catch (err) {
      // Let the engine report missing or unreadable files with its own messages, in the results.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') { problems.push({ input, error: asXumxError(err, input) }); continue; }
    }
    if (!isDir) { files.push(input); continue; }
    const names = (await readdir(input).catch(() => [] as string[]))
      .filter((n) => (AUDIO_EXTENSIONS as readonly string[]).includes(extname(n).toLowerCase()) && !n.startsWith('.'))
      .sort();
    if (names.length === 0) {
      problems.push({ input, error: new XumxError('FILE_NOT_FOUND', `${input}: the folder holds no audio files (${AUDIO_EXTENSIONS.join(' ')})`, input) });
    }
    files.push(...names.map((n) => join(input, n)));
  }
  // The same file named twice (directly, through its folder, or through a link) is separated once.
  const seen = new Set<string>();
  const unique = (await oncePerFile(files)).filter((f) => !seen.has(resolve(f)) && Boolean(seen.add(resolve(f))));
  return { files: unique, problems };
}

/**
 * Drops a file already listed under another path (through a link to its folder or to itself, or named twice):
 * it is the same song, separated once. Paths that do not resolve stay, for the engine to report.
 */
async function oncePerFile(files: string[]): Promise<string[]> {
  const real = new Set<string>();
  const out: string[] = [];
  for (const f of files) {
    const r = await realpath(f).catch(() => null);
    if (r !== null && real.has(r)) continue;
    if (r !== null) real.add(r);
    out.push(f);
  }
  return out;
}
