// Blocks read from a copy's file on the main thread and answered as WAV: at most LISTEN_DECODES at once, the rest
// waiting their turn holding nothing, and a request given up while it waited is answered without reading.
import { asXumxError, readListeningCopy } from '../engine/index.ts';
import type { JobView } from './contract.ts';
import { audioAnswer, notReady, type ListenAnswer } from './listen-answers.ts';
import type { Copy, CopyView } from './listen-copy-state.ts';

/** Block requests decoded at once; the rest wait their turn, holding nothing. */
export const LISTEN_DECODES = 2;

export class BlockReads {
  /** Blocks being decoded now, and the requests waiting for a turn. */
  private decoding = 0;
  private readonly waiting: (() => void)[] = [];

  /** `readCopy`: reads blocks of a copy (tests watch it). */
  constructor(private readonly readCopy: typeof readListeningCopy = readListeningCopy) {}

  /** Frames [from, from + frames) of `copy`, which its `view` says are final. */
  async read(
    job: JobView,
    copy: Copy,
    view: CopyView,
    from: number,
    frames: number,
    givenUp?: AbortSignal,
  ): Promise<ListenAnswer> {
    await this.turn();
    try {
      // A player that seeks gives up the blocks it asked for ahead: decoding them would keep the one at the new
      // playhead waiting.
      if (givenUp?.aborted) return notReady(job.name, 'the request was given up');
      return await this.decode(job, copy, view, from, frames);
    } finally {
      this.decoding--;
      this.waiting.shift()?.();
    }
  }

  /** Waits until fewer than LISTEN_DECODES blocks are being decoded, and takes a place. */
  private async turn(): Promise<void> {
    while (this.decoding >= LISTEN_DECODES) await new Promise<void>((r) => this.waiting.push(r));
    this.decoding++;
  }

  private async decode(job: JobView, copy: Copy, view: CopyView, from: number, frames: number): Promise<ListenAnswer> {
    let samples: Float32Array;
    try {
      samples = await this.readCopy(copy.path, view.sources.length, view.frames, from, frames);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return { kind: 'not-kept', message: `${job.name}: render ${copy.revision} is not kept` };
      return {
        kind: 'failed',
        code: asXumxError(err).code,
        message: `${job.name}: render ${copy.revision}'s listening copy cannot be read (${(err as Error).message})`,
      };
    }
    return audioAnswer(samples, view.sources.length * 2, view.sampleRate, from, frames);
  }
}
