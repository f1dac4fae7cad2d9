// The one way the app's own JSON files (settings, presets, per-song controls) reach the disk. Each write goes to a
// temporary file of its own beside the target, is flushed, then renamed over the target, so a crash never leaves
// half a file and two stores saving at once never swap contents. Saves to one file run one at a time, and the
// state in memory changes only once its file is on disk: what the app shows is what it will read back.
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { asXumxError, makeFolders, tempPathFor, XumxError } from '../engine/index.ts';

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = tempPathFor(file);
  try {
    await makeFolders(dirname(file));
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    // The write's own failure is the one to report; a temporary file that cannot be removed either changes nothing.
    await rm(tmp, { force: true }).catch(() => undefined);
    const reason = asXumxError(e);
    throw new XumxError(
      reason.code === 'DISK_FULL' ? 'DISK_FULL' : 'OUTPUT_NOT_WRITABLE',
      `${file}: could not be saved (${reason.message})`,
      file,
      { cause: e },
    );
  }
}

/** What a save writes, and how memory changes once it is written. */
export interface StoreChange<T> {
  text: string;
  commit(): T;
}

export interface StoreFile {
  readonly path: string;
  /** `change` runs after earlier saves of this file have finished, so it sees their state. */
  save<T>(change: () => StoreChange<T>): Promise<T>;
}

export function storeFile(path: string): StoreFile {
  // Never rejects: a failed save is reported to its caller and does not stop the saves queued after it.
  let tail: Promise<unknown> = Promise.resolve();
  return {
    path,
    save(change) {
      const run = tail.then(async () => {
        const { text, commit } = change();
        await writeFileAtomic(path, text);
        return commit();
      });
      tail = run.catch(() => undefined);
      return run;
    },
  };
}
