// A render's listening copy: while a song separates (or re-renders), the samples its stems get are also written,
// in order, into one file the app can play from before the stems are complete. Only final samples reach it (what
// the crossfader has released and the resampler has given out never changes again), so every frame below
// `readyFrames` is the stems' own.
// Layout: raw little-endian float32, one frame = every stem's two channels, stem by stem, at the song's own rate.
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { asXumxError } from '../errors.ts';
import type { ListenProgress } from '../types.ts';

const CHANNELS_PER_STEM = 2;

export class ListeningCopy {
  /** Per stem, per channel: final samples not yet written (waiting for the other stems to reach them). */
  private readonly pending: Float32Array[][][];
  private readonly pendingFrames: number[];
  private readyFrames = 0;
  private closed = false;

  private constructor(
    private readonly path: string,
    private readonly file: FileHandle,
    private readonly sources: string[],
    private readonly sampleRate: number,
    private readonly frames: number,
    private readonly report: (l: ListenProgress) => void,
  ) {
    this.pending = sources.map(() => []);
    this.pendingFrames = sources.map(() => 0);
  }

  /** Creates (or empties) the file and reports it with no frames ready yet. */
  static async create(path: string, sources: string[], sampleRate: number, frames: number, report: (l: ListenProgress) => void): Promise<ListeningCopy> {
    let file: FileHandle;
    try {
      await mkdir(dirname(path), { recursive: true });
      file = await open(path, 'w');
    } catch (err) {
      throw asXumxError(err, path);
    }
    const copy = new ListeningCopy(path, file, [...sources], sampleRate, frames, report);
    copy.announce();
    return copy;
  }

  /** Final samples of stem `stem` (planar stereo at the song's rate), continuing where its last ones ended. */
  async add(stem: number, planar: Float32Array[]): Promise<void> {
    const n = planar[0]?.length ?? 0;
    if (n === 0 || this.closed) return;
    // Copied: the caller's buffers may be reused (a resampler's output) before the other stems catch up.
    this.pending[stem].push(planar.slice(0, CHANNELS_PER_STEM).map((ch) => ch.slice()));
    this.pendingFrames[stem] += n;
    const common = Math.min(...this.pendingFrames);
    if (common > 0) await this.write(common);
  }

  /** Every stem is complete: the copy holds the whole song. */
  async finish(): Promise<void> {
    if (this.closed) return;
    const common = Math.min(...this.pendingFrames);
    if (common > 0) await this.write(common);
    this.closed = true;
    try {
      await this.file.close();
    } catch (err) {
      throw asXumxError(err, this.path);
    }
    if (this.readyFrames !== this.frames) {
      throw asXumxError(new Error(`the listening copy holds ${this.readyFrames} of the song's ${this.frames} frames`), this.path);
    }
  }

  /** The render failed or was cancelled: the copy goes. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.file.close().catch(() => {});
    }
    await rm(this.path, { force: true });
  }

  private async write(frames: number): Promise<void> {
    const stems = this.sources.length;
    const width = stems * CHANNELS_PER_STEM;
    const out = new Float32Array(frames * width);
    for (let s = 0; s < stems; s++) {
      let at = 0;
      while (at < frames) {
        const part = this.pending[s][0];
        const take = Math.min(part[0].length, frames - at);
        for (let c = 0; c < CHANNELS_PER_STEM; c++) {
          const ch = part[c];
          for (let i = 0, o = at * width + s * CHANNELS_PER_STEM + c; i < take; i++, o += width) out[o] = ch[i];
        }
        at += take;
        if (take === part[0].length) this.pending[s].shift();
        else this.pending[s][0] = part.map((ch) => ch.subarray(take));
      }
      this.pendingFrames[s] -= frames;
    }
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    try {
      await this.file.write(bytes, 0, bytes.length, this.readyFrames * width * 4);
    } catch (err) {
      throw asXumxError(err, this.path);
    }
    // Cut to the song's length: a stem stream never runs past it (StemSink cuts it), so this only guards the count.
    this.readyFrames = Math.min(this.frames, this.readyFrames + frames);
    this.announce();
  }

  private announce(): void {
    this.report({ sampleRate: this.sampleRate, frames: this.frames, readyFrames: this.readyFrames, sources: [...this.sources] });
  }
}

/** Bytes of one frame of a copy with `stems` stems. */
export function listenFrameBytes(stems: number): number {
  return stems * CHANNELS_PER_STEM * 4;
}
