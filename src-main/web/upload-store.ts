// Where browser mode keeps uploaded files: <upload folder>/<first 16 hex digits of their SHA-256>/<their name>.
// The path follows from the bytes and the name, so the same song uploaded again is the same file to the engine, and
// the stem-folder rule (which knows a song by its path) gives it its own stem folder back instead of "song (2)".
// One copy can serve several queued songs; it is deleted, with its folder, when the last of them lets go of it.
import { lstat, rename, rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeFolders } from '../engine/index.ts';

export class UploadStore {
  private readonly users = new Map<string, number>();
  /** Keeping and deleting run one at a time: a copy about to be reused must not be deleted under it. */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Moves a complete upload (`incoming`) to `path`, or drops it when that copy is already there. The caller then
   * holds one use of `path` and must release it.
   */
  keep(incoming: string, path: string): Promise<string> {
    return this.serially(async () => {
      this.users.set(path, (this.users.get(path) ?? 0) + 1);
      try {
        await makeFolders(dirname(path));
        const [there, arrived] = await Promise.all([lstat(path).catch(() => null), lstat(incoming)]);
        // Same hash, same name and same size: the same bytes, which queued songs may be reading right now.
        if (there?.isFile() && there.size === arrived.size) await rm(incoming, { force: true });
        else await rename(incoming, path);
        return path;
      } catch (err) {
        await rm(incoming, { force: true });
        await this.drop(path);
        throw err;
      }
    });
  }

  /** Counts `n` more users of a kept path (the songs queued from it). */
  share(path: string, n: number): void {
    if (n > 0) this.users.set(path, (this.users.get(path) ?? 0) + n);
  }

  /** Ends one use of `path`; the last one deletes the copy and its folder. */
  release(path: string): Promise<void> {
    return this.serially(() => this.drop(path));
  }

  private async drop(path: string): Promise<void> {
    const left = (this.users.get(path) ?? 1) - 1;
    if (left > 0) {
      this.users.set(path, left);
      return;
    }
    this.users.delete(path);
    await rm(path, { force: true });
    await rmdir(dirname(path)).catch(() => {});
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
