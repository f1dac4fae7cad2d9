// A stem file read a piece at a time, for everything that reads a song's stems from disk after its render: a listening
// copy written again, the stems and mix exports and the stem file. Every error names the file; the one furthest behind
// of several is the one to read next, so that what was read of them stays in step. Several stems are opened as one
// render's: a render's commit (separate/outputs.ts) replaces a song's stems by renames, one after another, so stems
// opened while one runs could be half old and half new.
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { asXumxError, XumxError } from '../errors.ts';
import { isStale, parseTempName } from '../temp-files.ts';
import { fileIdentity } from './regular-file.ts';
import type { AudioTags } from './tags.ts';

/** A file's samples a piece at a time (planar, a few MB each), as decodeStream reads them. */
export interface StemStream {
  sampleRate: number;
  /** Frames per channel, where the file's header says so exactly. */
  frames?: number;
  /** The file's tags, unless they were not asked for. */
  tags?: AudioTags;
  /** Which file the path named when it was opened (fileIdentity); absent, stems are not checked for being one render's. */
  fileId?: string;
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
    /** StemStream.fileId. */
    readonly fileId: string | undefined,
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
    return new StemReader(path, stream.sampleRate, stream.frames, stream.tags, channels, stream.fileId, first, stream);
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

/** How long openStems waits for a commit replacing the stems to end, and how often it looks again. */
const COMMIT_WAIT_MS = 10_000;
const COMMIT_LOOK_MS = 50;

/**
 * Opens every file, in order, as one render's stems: when a render replaced some of them while they were opened, or
 * is replacing them, they are closed and opened again once it is done (for `commitWaitMs` at most, then OUTPUT_BUSY;
 * an aborted `signal` stops the wait with CANCELLED). Where one cannot be opened, those opened before it are closed
 * and its error (naming it) is thrown.
 */
export async function openStems(
  paths: string[],
  decode: (path: string, index: number) => Promise<StemStream>,
  o: { commitWaitMs?: number; signal?: AbortSignal } = {},
): Promise<StemReader[]> {
  const until = Date.now() + (o.commitWaitMs ?? COMMIT_WAIT_MS);
  for (;;) {
    let readers: StemReader[] | null = null;
    let why: NotOneRender | null;
    try {
      readers = await openEach(paths, decode);
      why = await notOneRender(readers);
    } catch (err) {
      // A commit sets the old stems aside before it renames the new ones in: for a moment a stem is not there.
      const missing = err instanceof XumxError && err.code === 'FILE_NOT_FOUND';
      why = missing ? await commitUnderway(new Set(paths.map((p) => dirname(p)))) : null;
      if (why === null) throw err;
    }
    if (why === null) return readers!;
    if (readers) await closeStems(readers);
    if (why.stays || Date.now() >= until) throw new XumxError('OUTPUT_BUSY', why.message, why.file);
    await sleep(COMMIT_LOOK_MS, undefined, o.signal ? { signal: o.signal } : {}).catch(() => {});
    if (o.signal?.aborted)
      throw new XumxError('CANCELLED', `${why.file}: cancelled while a render replaced the stems`, why.file);
  }
}

async function openEach(
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

/** Why stems opened together may not be one render's; `stays`: it will not pass by waiting. */
interface NotOneRender {
  message: string;
  file: string;
  stays?: true;
}

/**
 * Why the open stems may not all be of one render; null when they are. The order matters: with no commit's journal
 * in their folders after every file was opened, the folders held one render's stems then; a path that names the file
 * opened from it still (renames only ever bring new files) was named so ever since that file was opened, so it is
 * that render's.
 */
async function notOneRender(readers: StemReader[]): Promise<NotOneRender | null> {
  const known = readers.filter((r) => r.fileId !== undefined);
  if (known.length < 2) return null;
  const underway = await commitUnderway(new Set(known.map((r) => dirname(r.path))));
  if (underway) return underway;
  for (const r of known) {
    // stat, as the file was opened: through a link to where it leads.
    const now = await stat(r.path, { bigint: true }).then(fileIdentity, (err: NodeJS.ErrnoException) =>
      err.code === 'ENOENT' ? null : r.fileId,
    );
    if (now !== r.fileId)
      return {
        message: `${r.path}: the stem was replaced by a new render while it was opened; try again`,
        file: r.path,
      };
  }
  return null;
}

/**
 * A commit's journal in one of the folders (separate/outputs.ts): a render is replacing the stems there. One left by a
 * process that ended mid-commit `stays` until the song's next render puts its old stems back.
 */
async function commitUnderway(dirs: Set<string>): Promise<NotOneRender | null> {
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => []);
    const journals = names.map(parseTempName).filter((t) => t?.kind === 'commit');
    for (const j of journals)
      if (await isStale(j!, join(dir, j!.file)))
        return {
          message:
            `${dir}: a render that was stopped while it replaced this song's stems left them half replaced; ` +
            'separate the song again (or change a control) to put them right',
          file: dir,
          stays: true,
        };
    if (journals.length > 0)
      return { message: `${dir}: a render is replacing this song's stems; try again when it is done`, file: dir };
  }
  return null;
}

export async function closeStems(readers: readonly StemReader[]): Promise<void> {
  await Promise.all(readers.map((r) => r.close()));
}

/**
 * How far the readers are through their frames up to `to`, 0 to 1: the one furthest behind (one whose length is not
 * known counts as 0 until it is done). For telling how far an export is.
 */
export function readFraction(readers: readonly StemReader[], to = Infinity): number {
  let least = 1;
  for (const r of readers) {
    if (r.done) continue;
    const end = Math.min(to, r.frames ?? Infinity);
    least = Math.min(least, end === Infinity ? 0 : end <= 0 ? 1 : Math.min(1, r.fed / end));
  }
  return least;
}

/** The reader furthest behind that has more to read: reading it next keeps what was read of them in step. */
export function furthestBehind<T extends StemReader>(readers: readonly T[]): T | undefined {
  return readers.filter((r) => !r.done).sort((a, b) => a.fed - b.fed)[0];
}
