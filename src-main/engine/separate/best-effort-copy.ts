// A render's listening copy as the pipeline uses it: an extra that never costs the stems. When the copy cannot be
// written (its folder cannot be made or written, the disk fills up) it is abandoned: whatever of it was written goes,
// the listener hears once that it holds nothing and why, and the render goes on. The app can write it again later
// from the stems, which hold the same samples.
import { dirname } from 'node:path';
import { writeFailureReason } from '../output-error.ts';
import type { ListenCopyHooks, ListenProgress } from '../types.ts';
import { ListeningCopy } from './listening-copy.ts';

export class BestEffortCopy {
  private copy: ListeningCopy | null = null;
  /** Why the copy was abandoned; null while it is being written. */
  private lost: string | null = null;
  private abandoning: Promise<void> | null = null;

  private constructor(
    private readonly hooks: ListenCopyHooks,
    private readonly shape: Omit<ListenProgress, 'readyFrames' | 'notWritten'>,
  ) {}

  /** Starts the copy (ListeningCopy.create); never fails. */
  static async open(
    hooks: ListenCopyHooks,
    sources: string[],
    sampleRate: number,
    frames: number,
  ): Promise<BestEffortCopy> {
    const kept = new BestEffortCopy(hooks, { sampleRate, frames, sources: [...sources] });
    try {
      kept.copy = await ListeningCopy.create(hooks.path, sources, sampleRate, frames, hooks.onReady);
    } catch (err) {
      await kept.abandon(err);
    }
    return kept;
  }

  /** The notice for the render's result: why the copy was not written; null when it was. */
  get notice(): string | null {
    return this.lost;
  }

  async add(stem: number, planar: Float32Array[]): Promise<void> {
    if (!this.copy) return;
    try {
      await this.copy.add(stem, planar);
    } catch (err) {
      await this.abandon(err);
    }
  }

  async finish(): Promise<void> {
    if (!this.copy) return;
    try {
      await this.copy.finish();
    } catch (err) {
      await this.abandon(err);
    }
  }

  /** The render failed or was cancelled: the copy goes, as ListeningCopy.abort. */
  async abort(): Promise<void> {
    const copy = this.copy;
    this.copy = null;
    await copy?.abort();
    await this.abandoning;
  }

  private abandon(err: unknown): Promise<void> {
    this.abandoning ??= (async () => {
      const copy = this.copy;
      this.copy = null;
      const cause = (err as Error | undefined)?.cause ?? err;
      this.lost =
        `${dirname(this.hooks.path)}: the listening copy cannot be written there (${writeFailureReason(cause)}); ` +
        'the stems are written all the same';
      // A copy that cannot even be removed is removed with the app's other copies when the app stops.
      await copy?.abort().catch(() => {});
      this.hooks.onReady({ ...this.shape, sources: [...this.shape.sources], readyFrames: 0, notWritten: this.lost });
    })();
    return this.abandoning;
  }
}
