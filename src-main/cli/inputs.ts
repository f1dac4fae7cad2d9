// Command-line inputs → the audio files to separate, by the same rule as the app's open (engine/song-files.ts):
// folders expand to the audio files in them and their subfolders.
import { stat } from 'node:fs/promises';
import { asXumxError, songFiles, XumxError } from '../engine/index.ts';
import { AUDIO_EXTENSIONS } from '../engine/types.ts';

export interface InputProblem {
  input: string;
  error: XumxError;
}

export interface ExpandedInputs {
  /** Files to separate, in command-line order, folders' files sorted by name. */
  files: string[];
  /** Inputs that cannot be separated before even trying (unreadable path, folder without audio). */
  problems: InputProblem[];
}

export async function expandInputs(inputs: string[]): Promise<ExpandedInputs> {
  const problems: InputProblem[] = [];
  const named: string[] = [];
  for (const input of inputs) {
    try {
      await stat(input);
    } catch (err) {
      // Let the engine report missing files with its own messages, in the results.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        problems.push({ input, error: asXumxError(err, input) });
        continue;
      }
    }
    named.push(input);
  }
  const { files, emptyFolders } = await songFiles(named);
  for (const input of emptyFolders) {
    problems.push({
      input,
      error: new XumxError(
        'FILE_NOT_FOUND',
        `${input}: the folder holds no audio files (${AUDIO_EXTENSIONS.join(' ')})`,
        input,
      ),
    });
  }
  return { files, problems };
}
