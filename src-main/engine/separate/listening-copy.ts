// A render's listening copy: while a song separates (or re-renders), the samples its stems get are also written,
// in order, into one file the app can play from before the stems are complete. Only final samples reach it (what
// the crossfader has released and the resampler has given out never changes again), so every frame below
// `readyFrames` is the stems' own.
// Layout: every stem's two channels, stem by stem, at the song's own rate, in blocks of BLOCK_FRAMES frames coded as
// listen-codec.ts says (about half the bytes of floats). A block's size depends on its samples, so the file starts
// with an index, one float64 a block: the offset where the block ends, written after the block itself. Frames are
// ready in whole blocks (the last one when the song is complete): a block's frames wait for it to fill, 11 ms at
// 44.1 kHz.
// After the index come the peaks, so the app can draw the waveforms of what is ready without decoding it: per
// PEAK_FRAMES frames, per stem, the smallest and the largest sample of its two channels (float32), written with the
// block they are in. That is 8 bytes per stem per 100 frames: 51 MB per hour of 4-stem audio at 44.1 kHz, 2% of the
// copy; none of it is kept in memory.
import { open, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { asXumxError } from '../errors.ts';
import type { ListenProgress } from '../types.ts';
import { BLOCK_FRAMES, decodeBlock, encodeBlock } from './listen-codec.ts';
import { makeFolders } from '../folders.ts';

const CHANNELS_PER_STEM = 2;
/**
 * Frames one peak covers: finer than the 5 ms the editor draws at its closest (a bucket is a whole number of them),
 * and a whole number of them in a block, so a block's peaks are written with it.
 */
export const PEAK_FRAMES = 100;
/** Per stem and PEAK_FRAMES frames: the smallest and the largest sample, float32. */
const PEAK_BYTES = 8;

/** Where a copy's parts start: its index, then its peaks, then its blocks. */
function layout(stems: number, songFrames: number): { peaksAt: number; dataAt: number } {
  const index = 8 * Math.ceil(songFrames / BLOCK_FRAMES);
  return { peaksAt: index, dataAt: index + PEAK_BYTES * stems * Math.ceil(songFrames / PEAK_FRAMES) };
}

export class ListeningCopy {
  /** Per stem, per channel: final samples not yet written (waiting for the other stems to reach them). */
  private readonly pending: Float32Array[][][];
  private readonly pendingFrames: number[];
  private readyFrames = 0;
  /** Where the next block goes: after the index and the blocks written. */
  private dataEnd: number;
  private writing: Promise<void> = Promise.resolve();
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
    this.dataEnd = layout(sources.length, frames).dataAt;
  }

  /** Creates (or empties) the file and reports it with no frames ready yet. */
  static async create(
    path: string,
    sources: string[],
    sampleRate: number,
    frames: number,
    report: (l: ListenProgress) => void,
  ): Promise<ListeningCopy> {
    let file: FileHandle;
    try {
      await makeFolders(dirname(path));
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
    await this.inTurn(false);
  }

  /** Every stem is complete: the copy holds the whole song. */
  async finish(): Promise<void> {
    if (this.closed) return;
    await this.inTurn(true);
    this.closed = true;
    try {
      await this.file.close();
    } catch (err) {
      throw asXumxError(err, this.path);
    }
    if (this.readyFrames !== this.frames) {
      throw asXumxError(
        new Error(`the listening copy holds ${this.readyFrames} of the song's ${this.frames} frames`),
        this.path,
      );
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

  /** Writes one after the other: a block's place in the file is where the one before it ended. */
  private inTurn(all: boolean): Promise<void> {
    this.writing = this.writing.then(() => this.write(all));
    return this.writing;
  }

  /** Writes the whole blocks pending (and the song's last block when `all`). */
  private async write(all: boolean): Promise<void> {
    const common = Math.min(...this.pendingFrames, this.frames - this.readyFrames);
    const frames = all || this.readyFrames + common === this.frames ? common : common - (common % BLOCK_FRAMES);
    if (frames <= 0) return;
    const channels = this.take(frames);
    const firstBlock = this.readyFrames / BLOCK_FRAMES;
    const blocks: Buffer[] = [];
    const ends = Buffer.alloc(8 * Math.ceil(frames / BLOCK_FRAMES));
    let end = this.dataEnd;
    for (let at = 0, k = 0; at < frames; at += BLOCK_FRAMES, k++) {
      const block = encodeBlock(channels, at, Math.min(BLOCK_FRAMES, frames - at));
      blocks.push(block);
      end += block.length;
      ends.writeDoubleLE(end, 8 * k);
    }
    const data = Buffer.concat(blocks);
    const peaks = spanPeaks(channels, frames);
    const firstSpan = this.readyFrames / PEAK_FRAMES;
    const peaksAt = layout(this.sources.length, this.frames).peaksAt + PEAK_BYTES * this.sources.length * firstSpan;
    try {
      await this.file.write(data, 0, data.length, this.dataEnd);
      await this.file.write(peaks, 0, peaks.length, peaksAt);
      await this.file.write(ends, 0, ends.length, 8 * firstBlock);
    } catch (err) {
      throw asXumxError(err, this.path);
    }
    this.dataEnd = end;
    this.readyFrames += frames;
    this.announce();
  }

  /** The next `frames` pending frames of every stem's channels, planar, in the copy's channel order. */
  private take(frames: number): Float32Array[] {
    const out: Float32Array[] = [];
    for (let s = 0; s < this.sources.length; s++) {
      const channels = Array.from({ length: CHANNELS_PER_STEM }, () => new Float32Array(frames));
      let at = 0;
      while (at < frames) {
        const part = this.pending[s][0];
        const n = Math.min(part[0].length, frames - at);
        for (let c = 0; c < CHANNELS_PER_STEM; c++) channels[c].set(part[c].subarray(0, n), at);
        at += n;
        if (n === part[0].length) this.pending[s].shift();
        else this.pending[s][0] = part.map((ch) => ch.subarray(n));
      }
      this.pendingFrames[s] -= frames;
      out.push(...channels);
    }
    return out;
  }

  private announce(): void {
    this.report({
      sampleRate: this.sampleRate,
      frames: this.frames,
      readyFrames: this.readyFrames,
      sources: [...this.sources],
    });
  }
}

/**
 * Frames [from, from + frames) of a copy of `stems` stems and `songFrames` frames, interleaved as the route serves
 * them; only frames the copy has said are ready. Errors are the file system's (ENOENT: the copy is gone).
 */
export async function readListeningCopy(
  path: string,
  stems: number,
  songFrames: number,
  from: number,
  frames: number,
): Promise<Float32Array> {
  const width = stems * CHANNELS_PER_STEM;
  const first = Math.floor(from / BLOCK_FRAMES);
  const last = Math.floor((from + frames - 1) / BLOCK_FRAMES);
  const file = await open(path, 'r');
  try {
    const ends = await readExactly(
      file,
      path,
      (first - 1) * 8 + (first === 0 ? 8 : 0),
      (last - first + (first === 0 ? 1 : 2)) * 8,
    );
    const start = first === 0 ? layout(stems, songFrames).dataAt : ends.readDoubleLE(0);
    const data = await readExactly(file, path, start, ends.readDoubleLE(ends.length - 8) - start);
    const blockFrames = (b: number) => Math.min(BLOCK_FRAMES, songFrames - b * BLOCK_FRAMES);
    const out = new Float32Array((last - first) * BLOCK_FRAMES * width + blockFrames(last) * width);
    for (let b = first, at = 0; b <= last; b++)
      at = decodeBlock(data, at, width, blockFrames(b), out, (b - first) * BLOCK_FRAMES);
    const skip = from - first * BLOCK_FRAMES;
    return out.subarray(skip * width, (skip + frames) * width);
  } finally {
    await file.close();
  }
}

/** A copy's peaks from the start, per stem: what `readListeningPeaks` gives. */
export interface CopyPeaks {
  /** Frames each value covers (PEAK_FRAMES); the song's last ones may cover fewer. */
  peakFrames: number;
  /** Per stem, per PEAK_FRAMES frames: the smallest sample of its two channels. */
  min: Float32Array[];
  /** Per stem, per PEAK_FRAMES frames: the largest sample of its two channels. */
  max: Float32Array[];
}

/**
 * The peaks of frames [0, readyFrames) of a copy of `stems` stems and `songFrames` frames; only frames the copy has
 * said are ready. Errors are the file system's (ENOENT: the copy is gone).
 */
export async function readListeningPeaks(
  path: string,
  stems: number,
  songFrames: number,
  readyFrames: number,
): Promise<CopyPeaks> {
  const spans = Math.ceil(Math.min(readyFrames, songFrames) / PEAK_FRAMES);
  // Nothing ready: the file is not read (a copy being written again from its stems may not be there yet).
  let bytes: Buffer = Buffer.alloc(0);
  if (spans > 0) {
    const file = await open(path, 'r');
    try {
      bytes = await readExactly(file, path, layout(stems, songFrames).peaksAt, PEAK_BYTES * stems * spans);
    } finally {
      await file.close();
    }
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const min = Array.from({ length: stems }, () => new Float32Array(spans));
  const max = Array.from({ length: stems }, () => new Float32Array(spans));
  for (let k = 0, at = 0; k < spans; k++)
    for (let s = 0; s < stems; s++, at += 2) {
      min[s][k] = all[at];
      max[s][k] = all[at + 1];
    }
  return { peakFrames: PEAK_FRAMES, min, max };
}

/**
 * Per PEAK_FRAMES of `frames` frames of planar channels (two a stem), per stem, its smallest and largest sample, as
 * the copy stores them (in the machine's byte order, as its samples). NaN is left out; a span of NaN only is 0.
 */
function spanPeaks(channels: Float32Array[], frames: number): Buffer {
  const stems = channels.length / CHANNELS_PER_STEM;
  const spans = Math.ceil(frames / PEAK_FRAMES);
  const out = new Float32Array(2 * stems * spans);
  for (let k = 0, at = 0; k < spans; k++) {
    const end = Math.min(frames, (k + 1) * PEAK_FRAMES);
    for (let s = 0; s < stems; s++, at += 2) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let c = 0; c < CHANNELS_PER_STEM; c++) {
        const x = channels[s * CHANNELS_PER_STEM + c];
        for (let i = k * PEAK_FRAMES; i < end; i++) {
          const v = x[i];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
      out[at] = lo === Infinity ? 0 : lo;
      out[at + 1] = hi === -Infinity ? 0 : hi;
    }
  }
  return Buffer.from(out.buffer);
}

async function readExactly(file: FileHandle, path: string, at: number, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  const { bytesRead } = await file.read(buf, 0, n, at);
  if (bytesRead !== n) throw asXumxError(new Error('the listening copy is shorter than its index says'), path);
  return buf;
}
