// A prepared song's samples (stereo at the model's rate) kept in a temporary file instead of memory: a two-hour
// recording is 2.5 GB of float32, which the chunk loop, a re-render and a part at the playhead only ever need a
// chunk of at a time. The file is interleaved float32 [L R L R …] in the machine's byte order, written once while
// the song is decoded and read by position afterwards. It is a temporary file (temp-files.ts): removed when the
// last user lets it go, and by a later process when this one ended without removing it.
import { open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { XumxError, asXumxError } from '../errors.ts';
import { removeStaleTemps, tempName } from '../temp-files.ts';
import { makeFolders } from '../folders.ts';

export interface SongSamples {
  /** Frames per channel. */
  readonly frames: number;
  /** [left, right]: `length` frames from `start`, silence where they lie past the end. */
  read(start: number, length: number): Promise<Float32Array[]>;
  /** One more user: the samples stay until each user has released them. */
  retain(): void;
  /** One user fewer; the last one's release frees the samples (removes the file). */
  release(): Promise<void>;
}

/** Where prepared songs go when the engine is not told otherwise. */
export const DEFAULT_SONG_FOLDER = join(tmpdir(), 'xumx-studio-songs');

/**
 * Removes the prepared songs that ended processes (a crash, a kill) left in `folder`. A song of a process still
 * running, such as a second instance of the app, is in use and stays (temp-files.ts tells the two apart).
 */
export async function removeAbandonedSongs(folder: string = DEFAULT_SONG_FOLDER): Promise<string[]> {
  return removeStaleTemps(folder);
}

const CHANNELS = 2;
const BYTES_PER_FRAME = CHANNELS * 4;
/** Frames gathered before a write: few enough to stay small, many enough that writes are not per decoder piece. */
const WRITE_FRAMES = 1 << 17;

/**
 * Receives a song's stereo samples in order and makes them a SongFile; abort() removes what it wrote. With
 * `readWhileWriting` the SongFile is there from the start and its reads wait for the frames they need.
 */
export class SongFileWriter {
  private frames = 0;
  private readonly pending = new Float32Array(WRITE_FRAMES * CHANNELS);
  private pendingFrames = 0;
  private closed = false;
  private early: SongFile | null = null;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
  ) {}

  /** A new file in `folder` named after `song` (the input's path); files that ended processes left there go first. */
  static async create(folder: string, song: string): Promise<SongFileWriter> {
    try {
      await makeFolders(folder);
      await removeStaleTemps(folder);
      const path = join(folder, tempName(basename(song), 'samples'));
      return new SongFileWriter(await open(path, 'wx+'), path);
    } catch (err) {
      const e = asXumxError(err, folder);
      throw new XumxError(
        e.code === 'DISK_FULL' ? 'DISK_FULL' : 'OUTPUT_NOT_WRITABLE',
        `${folder}: cannot keep the prepared song there (${(err as Error).message})`,
        folder,
      );
    }
  }

  /** Appends planar stereo. */
  async write([left, right]: Float32Array[]): Promise<void> {
    for (let i = 0; i < left.length;) {
      const n = Math.min(left.length - i, WRITE_FRAMES - this.pendingFrames);
      const out = this.pending;
      for (let k = 0, j = this.pendingFrames * 2; k < n; k++, j += 2) {
        out[j] = left[i + k];
        out[j + 1] = right[i + k];
      }
      this.pendingFrames += n;
      i += n;
      if (this.pendingFrames === WRITE_FRAMES) await this.drain();
    }
    // Read while written: a chunk may be waiting for these frames.
    if (this.early) await this.drain();
  }

  /**
   * The song for reading before it is written, when its length is known (`frames`, as a decoder's header promises
   * it): a read waits until the frames it needs are written, or fails with the reason the writing stopped
   * (fail()). finish() then checks that exactly `frames` came. The reference is the caller's to release; the file
   * stays until the writer is done with it too.
   */
  readWhileWriting(frames: number): SongFile {
    if (this.early) throw new XumxError('INTERNAL', `${this.path}: the prepared song is already being read`);
    this.early = new SongFile(this.fh, this.path, frames, 0, true);
    return this.early;
  }

  /**
   * The samples written, for reading; the writer's own reference is the caller's to release. Read while written
   * (readWhileWriting), it is the song given then, whose reference stays its reader's: the writer lets go of its
   * own here, and the caller takes none.
   */
  async finish(): Promise<SongFile> {
    await this.drain();
    this.closed = true;
    const early = this.early;
    if (!early) return new SongFile(this.fh, this.path, this.frames);
    if (this.frames !== early.frames) {
      const err = new XumxError(
        'INTERNAL',
        `${this.path}: the prepared song has ${this.frames} frames, its input's header promised ${early.frames}`,
      );
      early.fail(err);
      await early.release();
      throw err;
    }
    early.written(this.frames, true);
    return early;
  }

  /** Removes what was written; a song being read meanwhile fails its reads with `reason`. */
  async abort(reason?: XumxError): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.early) {
      this.early.fail(reason ?? new XumxError('CANCELLED', `${this.path}: the song's preparation stopped`));
      // The readers' references keep the file; the last release removes it.
      await this.early.release();
      return;
    }
    await this.fh.close().catch(() => {});
    await rm(this.path, { force: true });
  }

  private async drain(): Promise<void> {
    if (this.pendingFrames === 0) return;
    const bytes = new Uint8Array(this.pending.buffer, 0, this.pendingFrames * BYTES_PER_FRAME);
    try {
      for (let at = 0; at < bytes.length;) {
        const { bytesWritten } = await this.fh.write(bytes, at, bytes.length - at, this.frames * BYTES_PER_FRAME + at);
        at += bytesWritten;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code === 'ENOSPC' ? 'DISK_FULL' : 'OUTPUT_NOT_WRITABLE';
      throw new XumxError(code, `${this.path}: cannot write the prepared song (${(err as Error).message})`, this.path);
    }
    this.frames += this.pendingFrames;
    this.pendingFrames = 0;
    this.early?.written(this.frames, false);
  }
}

/**
 * A prepared song on disk; it starts with one user, whoever made it. One read while its writer still writes it
 * (SongFileWriter.readWhileWriting) has a second, the writer's, until the writer is done.
 */
export class SongFile implements SongSamples {
  private users: number;
  /** Frames from 0 on disk: all of them, or as far as the writer has come. */
  private available: number;
  private failure: XumxError | null = null;
  private readonly waiting: { frames: number; resolve(): void; reject(err: XumxError): void }[] = [];
  /** The furthest frame reads have asked for, and who waits to hear of a read past what is written (holdWriter). */
  private asked = 0;
  private readonly askWaiters: (() => void)[] = [];

  constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly frames: number,
    available = frames,
    /** Its writer still writes it, and holds a reference until it is done (even a song of 0 frames). */
    writing = false,
  ) {
    this.available = available;
    this.users = writing ? 2 : 1;
  }

  /** The writer has written `frames` (all it will when `done`: its own reference goes then). */
  written(frames: number, done: boolean): void {
    this.available = Math.min(this.frames, frames);
    for (const w of this.waiting.filter((w) => w.frames <= this.available)) {
      this.waiting.splice(this.waiting.indexOf(w), 1);
      w.resolve();
    }
    if (done && this.users > 0) void this.release();
  }

  /** The writer stopped before the end: reads of frames it has not written fail with `err`. */
  fail(err: XumxError): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  /**
   * For the writer: waits while it is `lead` frames or more ahead of what reads have asked for, until `free` settles
   * (a read asking further looks again). A decoder that runs far ahead shares the cores with the chunks that need
   * its first frames. Also before the first read: a session still opening then gets the cores too (the frames the
   * first chunks need are decoded once they ask: 17 s of a FLAC, whose 3 minutes decode in about 0.7 s).
   */
  async holdWriter(lead: number, free: Promise<unknown>): Promise<void> {
    let freed = false;
    const settled = free.then(
      () => (freed = true),
      () => (freed = true),
    );
    while (!freed && !this.failure && this.users > 0 && this.available >= this.asked + lead) {
      await Promise.race([settled, new Promise<void>((resolve) => this.askWaiters.push(resolve))]);
    }
  }

  private whenAvailable(to: number): Promise<void> {
    if (to > this.asked) {
      this.asked = to;
      for (const wake of this.askWaiters.splice(0)) wake();
    }
    if (to <= this.available) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiting.push({ frames: to, resolve, reject }));
  }

  async read(start: number, length: number): Promise<Float32Array[]> {
    if (this.users === 0)
      throw new XumxError('INTERNAL', `${this.path}: the prepared song was read after it was let go`);
    const left = new Float32Array(length);
    const right = new Float32Array(length);
    const from = Math.max(0, start);
    const to = Math.min(this.frames, start + length);
    if (to <= from) return [left, right];
    await this.whenAvailable(to);
    const interleaved = new Float32Array((to - from) * CHANNELS);
    const bytes = new Uint8Array(interleaved.buffer);
    for (let got = 0; got < bytes.length;) {
      const { bytesRead } = await this.fh.read(bytes, got, bytes.length - got, from * BYTES_PER_FRAME + got);
      if (bytesRead === 0)
        throw new XumxError('INTERNAL', `${this.path}: the prepared song became shorter while it was read`);
      got += bytesRead;
    }
    for (let i = 0, o = from - start, j = 0; i < to - from; i++, o++, j += 2) {
      left[o] = interleaved[j];
      right[o] = interleaved[j + 1];
    }
    return [left, right];
  }

  retain(): void {
    if (this.users === 0)
      throw new XumxError('INTERNAL', `${this.path}: the prepared song was taken after it was let go`);
    this.users++;
  }

  async release(): Promise<void> {
    if (this.users === 0 || --this.users > 0) return;
    await this.fh.close().catch(() => {});
    await rm(this.path, { force: true });
  }
}
