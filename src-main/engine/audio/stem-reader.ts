// A stem file read a piece at a time, for everything that reads a song's stems from disk after its render: a listening
// copy written again, the stems and mix exports and the stem file. Every error names the file; the one furthest behind
// of several is the one to read next, so that what was read of them stays in step.
import { asXumxError } from '../errors.ts';
import type { AudioTags } from './tags.ts';

/** A file's samples a piece at a time (planar, a few MB each), as decodeStream reads them. */
export interface StemStream {
  sampleRate: number;
  /** Frames per channel, where the file's header says so exactly. */
  frames?: number;
  /** The file's tags, unless they were not asked for. */
  tags?: AudioTags;
  pieces: AsyncIterableIterator<Float32Array[]>;
}

export class StemReader {
  /** Frames read so far. */
  fed = 0;
  /** True once the last piece was read. */
  done = false;

  private constructor(
    readonly path: string,
    readonly sampleRate: number,
    /** Frames per channel, where the file's header says so exactly. */
    readonly frames: number | undefined,
    /** The file's tags, where they were asked for. */
    readonly tags: AudioTags | undefined,
    /** Channels of its pieces (0 for a file without any). */
    readonly channels: number,
    private first: IteratorResult<Float32Array[]> | null,
    private readonly stream: StemStream,
  ) {}

  /** Opens the file and reads its first piece (which tells its channels); a failure names the file. */
  static async open(path: string, decode: (path: string) => Promise<StemStream>): Promise<StemReader> {
    const stream = await decode(path).catch((err: unknown) => Promise.reject(asXumxError(err, path)));
    let first: IteratorResult<Float32Array[]>;
    try {
      first = await stream.pieces.next();
    } catch (err) {
      await stream.pieces.return?.().catch(() => {});
      throw asXumxError(err, path);
    }
    const channels = first.done ? 0 : first.value.length;
    return new StemReader(path, stream.sampleRate, stream.frames, stream.tags, channels, first, stream);
  }

  /** The next piece (planar, a few MB), or null after the last; a failure names the file. */
  async next(): Promise<Float32Array[] | null> {
    if (this.done) return null;
    let next: IteratorResult<Float32Array[]>;
    if (this.first) [next, this.first] = [this.first, null];
    else next = await this.stream.pieces.next().catch((err: unknown) => Promise.reject(asXumxError(err, this.path)));
    if (next.done) {
      this.done = true;
      return null;
    }
    this.fed += next.value[0]?.length ?? 0;
    return next.value;
  }

  /** The pieces still to come. Leaving them early keeps the file open: close() lets it go. */
  async *pieces(): AsyncGenerator<Float32Array[]> {
    for (let p = await this.next(); p; p = await this.next()) yield p;
  }

  /** Closes the file; safe to call at any time, and more than once. */
  async close(): Promise<void> {
    this.done = true;
    this.first = null;
    await this.stream.pieces.return?.().catch(() => {});
  }
}

/**
 * Opens every file, in order: where one cannot be opened, those opened before it are closed and its error (naming
 * it) is thrown.
 */
export async function openStems(
  paths: string[],
  decode: (path: string, index: number) => Promise<StemStream>,
): Promise<StemReader[]> {
  const readers: StemReader[] = [];
  try {
    for (const [k, path] of paths.entries()) readers.push(await StemReader.open(path, (p) => decode(p, k)));
    return readers;
  } catch (err) {
    await closeStems(readers);
    throw err;
  }
}

export async function closeStems(readers: readonly StemReader[]): Promise<void> {
  await Promise.all(readers.map((r) => r.close()));
}

/** The reader furthest behind that has more to read: reading it next keeps what was read of them in step. */
export function furthestBehind<T extends StemReader>(readers: readonly T[]): T | undefined {
  return readers.filter((r) => !r.done).sort((a, b) => a.fed - b.fed)[0];
}
