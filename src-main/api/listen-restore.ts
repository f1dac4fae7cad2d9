// A listening copy dropped over the cap (or never written) is written again from its song's stems, which hold the
// same samples. When that fails the copy keeps the reason for the UI, and is tried again by a later request once
// the stem files change or LISTEN_RETRY_MS have passed, and, for the song listened to, by a timer after that while.
import { asXumxError } from '../engine/index.ts';
import type { JobView } from './contract.ts';
import { copyFromStems, stemFilesStamp } from './copy-from-stems.ts';
import type { StemStream } from './ports.ts';
import type { Copy, Song } from './listen-copy-state.ts';

/**
 * How long a copy that could not be written again from its stems waits before a block request tries again, where the
 * stem files look the same (a changed file is tried at once): a cause outside the files (a full disk) may have passed.
 */
export const LISTEN_RETRY_MS = 30_000;

/** What a restore needs of ListenCopies. */
export interface RestoreHost {
  /** The folder copies are written in, named in a failure's message. */
  dir: string;
  jobs: { get(id: string): JobView | undefined };
  decodeStream(path: string): Promise<StemStream>;
  /** A song's copies changed in a way the UI should hear of. */
  changed(jobId: string): void;
  /** Runs `run` once `ms` have passed; absent: an unreferenced setTimeout. */
  later?: (run: () => void, ms: number) => void;
  now(): number;
  /** A new file name for the copy of that revision. */
  pathFor(jobId: string, revision: number): string;
  /** Whether `song` is still the one kept for `jobId` (not dropped meanwhile). */
  isKept(jobId: string, song: Song): boolean;
  listenedTo(): string | null;
  /** Frames became final. */
  grew(jobId: string, song: Song): void;
  keepUnderCap(): void;
}

export class CopyRestorer {
  constructor(private readonly host: RestoreHost) {}

  /**
   * Writes a dropped copy again from its song's stems (copy-from-stems.ts); its readyFrames grows as it goes, as a
   * render's does. A re-render of the song starting meanwhile replaces the stems: the copy is dropped again (and asked
   * for again once that render is done, it is the older one and goes).
   */
  restore(jobId: string, song: Song, copy: Copy): void {
    const { notWritten: _notWritten, ...view } = copy.view!;
    copy.state = 'restoring';
    copy.path = this.host.pathFor(jobId, copy.revision);
    copy.failed = null;
    const current = () => this.host.isKept(jobId, song) && song.copies.includes(copy) && copy.state === 'restoring';
    const rerendering = () => song.copies.some((c) => c.state === 'running');
    const name = this.host.jobs.get(jobId)?.name ?? jobId;
    void (async () => {
      const result = this.host.jobs.get(jobId)?.result;
      const tried = result ? await stemFilesStamp(result.stemPaths) : '';
      try {
        if (!result || (result.revision ?? 0) !== copy.revision)
          throw new Error('its stems have been rendered again since');
        const outcome = await copyFromStems({
          path: copy.path,
          sources: view.sources,
          sampleRate: view.sampleRate,
          frames: view.frames,
          stemPaths: result.stemPaths,
          decodeStream: this.host.decodeStream,
          onReady: (l) => {
            if (!current()) return;
            copy.view = { ...view, readyFrames: l.readyFrames };
            this.host.grew(jobId, song);
          },
          goOn: () => current() && !rerendering(),
        });
        if (outcome === 'done') {
          copy.state = 'done';
          if (copy.notWritten) {
            copy.notWritten.written = true;
            this.host.changed(jobId); // the song's notices change (notices())
          }
          this.host.keepUnderCap();
        } else if (current()) {
          copy.state = 'dropped';
          copy.view = { ...view, readyFrames: 0 };
          this.host.changed(jobId);
        }
      } catch (err) {
        if (!current()) return;
        // Kept as dropped, with the reason the UI shows where the song's player is; tried again later (retryLater).
        const error = asXumxError(err);
        // The copy's own file failing (a full disk) is the folder's doing, not the stems'; its name is a temporary one.
        const own = `${copy.path}: `;
        const message =
          error.file === copy.path
            ? `${name}: the song's audio cannot be written again to ${this.host.dir} (${
                error.message.startsWith(own) ? error.message.slice(own.length) : error.message
              }); playing tries again in ${LISTEN_RETRY_MS / 1000} s`
            : `${name}: the song's audio cannot be made again from its stem files (${error.message}); playing tries again once they change, or after ${LISTEN_RETRY_MS / 1000} s`;
        copy.state = 'dropped';
        copy.view = { ...view, readyFrames: 0 };
        copy.failed = {
          error: {
            code: error.code,
            message,
          },
          stems: tried,
          at: this.host.now(),
        };
        this.host.changed(jobId);
        this.retryLater(jobId, song, copy);
      }
    })();
  }

  /**
   * The song listened to is tried again once LISTEN_RETRY_MS have passed, without a block request: its player has
   * stopped asking since it was refused, and would otherwise stay silent until the song is opened again.
   */
  private retryLater(jobId: string, song: Song, copy: Copy): void {
    const failed = copy.failed;
    const run = () => {
      if (!this.host.isKept(jobId, song) || !song.copies.includes(copy) || copy.failed !== failed) return;
      if (
        copy.state !== 'dropped' ||
        this.host.listenedTo() !== jobId ||
        song.copies.some((c) => c.state === 'running')
      )
        return;
      this.restore(jobId, song, copy);
    };
    if (this.host.later) return this.host.later(run, LISTEN_RETRY_MS);
    setTimeout(run, LISTEN_RETRY_MS).unref?.();
  }

  /** A failed rebuild is tried again once its stem files have changed, or a while after it failed. */
  async mayRetry(failed: NonNullable<Copy['failed']>, job: JobView): Promise<boolean> {
    if (this.host.now() - failed.at >= LISTEN_RETRY_MS) return true;
    return !job.result || (await stemFilesStamp(job.result.stemPaths)) !== failed.stems;
  }
}
