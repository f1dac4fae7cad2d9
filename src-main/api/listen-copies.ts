// The songs' listening copies as the app keeps them: every render (the first separation is revision 0, each
// re-render the next number, never reused) writes one while it runs (engine/separate/listening-copy.ts), and the
// player fetches blocks of final frames from it. Kept per song: the newest finished render, the one before it (the
// A side), and the one running; a failed, cancelled or replaced render's copy goes at once, a song's copies when it
// leaves the queue, all of them when the app stops. A block of the newest re-render that is not written yet is
// rendered on demand from the estimate cache (renderRegion), the same samples the copy will hold.
// All songs' copies together stay under a cap: beyond it the finished copies used least recently are dropped (never
// one being written, nor those of the song listened to last), and a dropped current render is written again from
// the song's stems (which hold the same samples: stems are written at the song's own tempo and key) when it is asked
// for. When that fails, the copy's view says why until a later request, once the stem files change or a while after,
// writes it; the song listened to is tried again a while after without a request (its player has stopped asking).
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  asXumxError,
  PEAK_FRAMES,
  readListeningCopy,
  readListeningPeaks,
  tempName,
  type CopyPeaks,
  type ErrorCode,
} from '../engine/index.ts';
import type { ListenProgress, RegionOk, SeparateRequest, SeparationControls } from '../engine/types.ts';
import type { JobView, ListenView } from './contract.ts';
import { copyFromStems, stemFilesStamp, type StemStream } from './copy-from-stems.ts';
import type { EnginePort } from './ports.ts';

/** What a copy is, as the UI sees it but for `complete` and `error`, which viewOf adds from the copy's state. */
type CopyView = Omit<ListenView, 'complete' | 'error'>;

/** What all songs' copies may take on disk together: about 52 minutes of 4-stem audio at 44.1 kHz. */
export const LISTEN_CAP_BYTES = 2 * 2 ** 30;

/**
 * How long a copy that could not be written again from its stems waits before a block request tries again, where the
 * stem files look the same (a changed file is tried at once): a cause outside the files (a full disk) may have passed.
 */
export const LISTEN_RETRY_MS = 30_000;

/** Block requests decoded at once; the rest wait their turn, holding nothing. */
export const LISTEN_DECODES = 2;

/**
 * The longest block one request may ask for, in seconds of the song: each is decoded on the main thread. The player
 * asks for 2-second blocks (its stretchers join the blocks it holds; they ask for nothing longer).
 */
export const MAX_LISTEN_SECONDS = 8;

/**
 * The longest a re-render of a song being listened to waits for the block at the playhead to be rendered on demand
 * before it starts (ms): the player asks for that block as soon as it hears of the re-render, and rendered beside the
 * whole song it shares the threads with it while the listener waits for the change.
 */
export const PLAYHEAD_WAIT_MS = 1000;

/**
 * A song whose copy was read this recently (ms) is being listened to: a player reads a 2-second block at a time while
 * it plays.
 */
const LISTENING_MS = 3000;

/** What a listening request is answered with; the doors answer a refusal in the error form (listenRefusalBody). */
export type ListenAnswer = { kind: 'audio'; wav: Buffer; from: number; frames: number } | ListenRefusal;

export type ListenRefusal =
  | { kind: 'bad-request'; message: string }
  | { kind: 'not-kept'; message: string }
  | { kind: 'not-ready'; message: string }
  | { kind: 'failed'; code: ErrorCode; message: string };

/** What a HEAD request is answered with: for frames the copy holds, the length in bytes of the WAV a GET gets. */
export type ListenHead = { kind: 'head'; bytes: number; from: number; frames: number } | ListenRefusal;

/** The codes of the refusals that are not failures, as the API's error form carries them. */
const REFUSAL_CODES: Record<Exclude<ListenRefusal['kind'], 'failed'>, ErrorCode> = {
  'bad-request': 'BAD_ARGUMENT',
  'not-kept': 'FILE_NOT_FOUND',
  'not-ready': 'NOT_READY',
};

/** A refusal in the API's error form, as every door answers it, with its code's status (http-status.ts). */
export function listenRefusalBody(r: ListenRefusal): { ok: false; error: { code: ErrorCode; message: string } } {
  return { ok: false, error: { code: r.kind === 'failed' ? r.code : REFUSAL_CODES[r.kind], message: r.message } };
}

/** One render's copy, handed to whoever runs the render. */
export interface ListenTicket {
  revision: number;
  /** Where the engine writes the copy (EngineJobHooks.listen.path). */
  path: string;
  /** Called with the engine's reports of final frames (what EngineJobHooks.listen.onReady receives). */
  onListen(l: ListenProgress): void;
  /** The render ended: finished (its copy is complete) or failed, cancelled or replaced (its copy goes). */
  settle(ok: boolean): void;
  /**
   * Settles when the render may start: once a re-render's block at the playhead has been rendered on demand where the
   * song is being listened to (at most PLAYHEAD_WAIT_MS), else at once.
   */
  playheadFirst: Promise<void>;
}

export interface ListenCopiesDeps {
  /** The folder copies are written in; only this process's own files in it are touched. */
  dir: string;
  engine: EnginePort;
  jobs: { get(id: string): JobView | undefined };
  /** The engine request a re-render with these controls sends (the same function), so both render the same audio. */
  requestFor(input: string, controls: SeparationControls): SeparateRequest;
  /** A song's copies changed in a way the UI should hear of (frames became final). */
  changed(jobId: string): void;
  /** Least time between two `changed` calls of one song for frames becoming final (ms); default 250. */
  interval?: number;
  /** Bytes all copies may take together; default LISTEN_CAP_BYTES. */
  cap?: number;
  /** The clock a failed rebuild waits on (ms); default Date.now. */
  now?: () => number;
  /** Runs `run` once `ms` have passed; default an unreferenced setTimeout (tests run it when they choose). */
  later?: (run: () => void, ms: number) => void;
  /** The longest a re-render waits for the block at the playhead (ms); default PLAYHEAD_WAIT_MS. */
  playheadWait?: number;
  /** Reads blocks of a copy; default readListeningCopy (tests watch it). */
  readCopy?: typeof readListeningCopy;
  /** The engine's decoder a piece at a time, for writing a dropped copy again from its song's stems. */
  decodeStream(path: string): Promise<StemStream>;
}

interface Copy {
  revision: number;
  path: string;
  /** dropped: over the cap, no file (readyFrames 0); restoring: being written again from the song's stems. */
  state: 'running' | 'done' | 'dropped' | 'restoring';
  /** When it was last begun, finished or read (a count, not a time): the least recent goes first over the cap. */
  lastUse: number;
  /** null until the engine says what the copy holds (a first separation before its song is decoded). */
  view: CopyView | null;
  /** A re-render's controls, for the blocks rendered on demand; null for a first separation. */
  controls: SeparationControls | null;
  /** Why a dropped copy could not be written again from the stems, what the stem files were then, and when. */
  failed: { error: { code: ErrorCode; message: string }; stems: string; at: number } | null;
  /** Lets the render start (its ticket's playheadFirst); null once it may. */
  start?: (() => void) | null;
  /** The render's notice that it could not write this copy, and whether the copy has been written from the stems since. */
  notWritten?: { notice: string; written: boolean };
}

interface RenderedBlock {
  revision: number;
  start: number;
  frames: number;
  /** Interleaved as the copy is. */
  samples: Float32Array;
}

interface Song {
  copies: Copy[];
  next: number;
  /** Copies of renders that were replaced while still running: removed when their render ends. */
  leaving: Set<string>;
  lastChanged: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** On-demand renders run one at a time, for the newest revision asked for; a newer one cancels the rest. */
  demand: { revision: number; abort: AbortController; tail: Promise<unknown> } | null;
  /** The last blocks rendered on demand: a block asked for twice (or a part of one) is not rendered again. */
  rendered: RenderedBlock[];
  /** When a player last read one of the song's copies (deps.now). */
  lastRead: number;
}

export class ListenCopies {
  private readonly songs = new Map<string, Song>();
  private uses = 0;
  /** The song whose copy was read last: the one being listened to. */
  private listenedTo: string | null = null;
  private capping: Promise<void> = Promise.resolve();
  /** Blocks being decoded now, and the requests waiting for a turn. */
  private decoding = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly deps: ListenCopiesDeps) {}

  /** A first separation (or its retry) starts: the song starts over at revision 0. */
  beginFirst(jobId: string): ListenTicket {
    this.drop(jobId);
    const song = this.song(jobId);
    song.next = 1;
    return this.begin(jobId, song, {
      revision: 0,
      path: this.pathFor(jobId, 0),
      state: 'running',
      lastUse: ++this.uses,
      view: null,
      controls: null,
      failed: null,
    });
  }

  /**
   * A re-render of a finished song starts: it gets the next revision, known at once with what its copy will hold; a
   * re-render of the song still running is replaced (its copy is no longer served).
   */
  beginRerender(jobId: string, controls: SeparationControls): ListenTicket {
    const song = this.song(jobId);
    for (const c of song.copies.filter((x) => x.state === 'running')) this.leave(song, c);
    const revision = song.next++;
    const result = this.deps.jobs.get(jobId)?.result;
    const view: CopyView | null = result
      ? {
          revision,
          sampleRate: result.sampleRate,
          frames: Math.round(result.duration * result.sampleRate),
          readyFrames: 0,
          sources: [...result.sources.filter((s) => s !== 'residual'), ...(controls.residual ? ['residual'] : [])],
        }
      : null;
    return this.begin(jobId, song, {
      revision,
      path: this.pathFor(jobId, revision),
      state: 'running',
      lastUse: ++this.uses,
      view,
      controls,
      failed: null,
    });
  }

  /** What the player plays now (`listen`) and the re-render in progress (`rerender`), for the song's JobView. */
  views(jobId: string): { listen: ListenView | null; rerender: ListenView | null } {
    const copies = this.songs.get(jobId)?.copies ?? [];
    const done = copies.filter((c) => c.state !== 'running').sort((a, b) => b.revision - a.revision);
    const running = copies.filter((c) => c.state === 'running').sort((a, b) => b.revision - a.revision);
    const first = running.find((c) => c.revision === 0);
    const rerender = running.find((c) => c.revision > 0);
    return { listen: viewOf(done[0] ?? first), rerender: viewOf(rerender) };
  }

  /**
   * Frames [from, from + frames) of a kept revision, as far as they are final (or can be rendered now). A request
   * `given up` (its client went away) while it waited for its turn to decode is answered without decoding.
   */
  async read(
    jobId: string,
    revision: number,
    from: number,
    frames: number,
    givenUp?: AbortSignal,
  ): Promise<ListenAnswer> {
    const found = await this.find(jobId, revision, from, frames, true);
    const answer =
      found.kind === 'copy'
        ? await this.fromCopy(found.job, found.copy, found.view, found.from, found.frames, givenUp)
        : found.kind === 'render'
          ? await this.onDemand(found.job, found.song, found.copy, found.from, found.frames, givenUp)
          : found;
    // Removed while its block was fetched: what failed then (its uploaded file, its copy gone) is no fault to report.
    if (answer.kind === 'audio' || this.deps.jobs.get(jobId)) return answer;
    return found.kind === 'copy' || found.kind === 'render' ? unknownSong(jobId, found.job.name) : unknownSong(jobId);
  }

  /**
   * What `read` would answer, and the WAV's length, from what the copy holds: nothing is decoded, rendered or written
   * again (frames not written yet are "not ready"), and the song does not count as listened to.
   */
  async head(jobId: string, revision: number, from: number, frames: number): Promise<ListenHead> {
    const found = await this.find(jobId, revision, from, frames, false);
    if (found.kind === 'copy')
      return {
        kind: 'head',
        bytes: WAV_HEADER_BYTES + found.frames * found.view.sources.length * 2 * 4,
        from: found.from,
        frames: found.frames,
      };
    if (found.kind === 'render') return { kind: 'not-ready', message: `${found.job.name}: not rendered yet` };
    return found;
  }

  /**
   * Where a request's frames come from: the copy (as far as it is written) or a render on demand; or why they cannot
   * be had. A request `listening` counts as the song being listened to and writes a dropped copy again.
   */
  private async find(
    jobId: string,
    revision: number,
    from: number,
    frames: number,
    listening: boolean,
  ): Promise<
    | { kind: 'copy'; job: JobView; copy: Copy; view: CopyView; from: number; frames: number }
    | { kind: 'render'; job: JobView; song: Song; copy: Copy; from: number; frames: number }
    | ListenRefusal
  > {
    const job = this.deps.jobs.get(jobId);
    if (!job) return unknownSong(jobId);
    if (!Number.isSafeInteger(revision) || revision < 0)
      return { kind: 'bad-request', message: `${job.name}: a revision is a whole number from 0` };
    if (!Number.isSafeInteger(from) || from < 0)
      return { kind: 'bad-request', message: `${job.name}: "from" is a frame number from 0` };
    const song = this.songs.get(jobId);
    const copy = song?.copies.find((c) => c.revision === revision);
    const rate = copy?.view?.sampleRate;
    if (!Number.isSafeInteger(frames) || frames < 1 || (rate !== undefined && frames > MAX_LISTEN_SECONDS * rate)) {
      const most = rate
        ? `${MAX_LISTEN_SECONDS * rate} (${MAX_LISTEN_SECONDS} s at ${rate} Hz)`
        : `${MAX_LISTEN_SECONDS} s`;
      return { kind: 'bad-request', message: `${job.name}: "frames" is a whole number from 1 to ${most}` };
    }
    if (!song || !copy) return { kind: 'not-kept', message: `${job.name}: render ${revision} is not kept` };
    if (listening) {
      song.lastRead = (this.deps.now ?? Date.now)();
      copy.lastUse = ++this.uses;
      if (this.listenedTo !== jobId) {
        this.listenedTo = jobId;
        this.keepUnderCap();
      }
    }
    const view = copy.view;
    const notReady: ListenRefusal = { kind: 'not-ready', message: `${job.name}: not rendered yet` };
    if (!view) return notReady;
    // While the song re-renders its stems are being replaced: the player gets the new render when it is done.
    if (copy.state === 'dropped' && !song.copies.some((c) => c.state === 'running')) {
      const failed = copy.failed;
      if (failed && (!listening || !(await this.mayRetry(failed, job)))) return { kind: 'failed', ...failed.error };
      // Another request may have started it meanwhile.
      if (listening && copy.state === 'dropped') this.restore(jobId, song, copy);
    }
    if (from >= view.frames)
      return {
        kind: 'bad-request',
        message: `${job.name}: frame ${from} is past the song's end (${view.frames} frames)`,
      };
    const wanted = Math.min(frames, view.frames - from);
    if (from < view.readyFrames)
      return { kind: 'copy', job, copy, view, from, frames: Math.min(wanted, view.readyFrames - from) };
    const newest = song.copies.reduce((n, c) => Math.max(n, c.revision), -1);
    if (copy.state === 'running' && copy.controls && copy.revision === newest && this.deps.engine.renderRegion)
      return { kind: 'render', job, song, copy, from, frames: wanted };
    return notReady;
  }

  /**
   * The peaks of a kept revision's final frames (its view says how far they reach); null when it is not kept. Its
   * waveforms are drawn where it is listened to, so this counts as a read of the copy: a dropped copy is written
   * again from the stems, and the song's copies are the last to go over the cap.
   */
  async peaks(jobId: string, revision: number): Promise<{ view: CopyView; peaks: CopyPeaks } | null> {
    const song = this.songs.get(jobId);
    const copy = song?.copies.find((c) => c.revision === revision);
    const job = this.deps.jobs.get(jobId);
    if (!song || !copy?.view || !job) return null;
    copy.lastUse = ++this.uses;
    if (this.listenedTo !== jobId) {
      this.listenedTo = jobId;
      this.keepUnderCap();
    }
    if (copy.state === 'dropped' && !song.copies.some((c) => c.state === 'running')) {
      // A copy that could not be written again is tried again on the same terms as a block asked for.
      if (copy.failed && !(await this.mayRetry(copy.failed, job))) return null;
      if (copy.state === 'dropped') this.restore(jobId, song, copy);
    }
    const view = copy.view;
    try {
      return { view, peaks: await readListeningPeaks(copy.path, view.sources.length, view.frames, view.readyFrames) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw asXumxError(err, copy.path);
      // Dropped while it was read: nothing of it is there now.
      const none = view.sources.map(() => new Float32Array(0));
      return { view: { ...view, readyFrames: 0 }, peaks: { peakFrames: PEAK_FRAMES, min: none, max: none } };
    }
  }

  /**
   * A render's notices as they stand now: without the one that says its copy could not be written once the copy has
   * been written from the stems.
   */
  notices(jobId: string, revision: number, notices: string[]): string[] {
    const lost = this.songs.get(jobId)?.copies.find((c) => c.revision === revision)?.notWritten;
    return lost?.written ? notices.filter((n) => n !== lost.notice) : notices;
  }

  /** Forgets a song's copies (it left the queue) and removes their files. */
  drop(jobId: string): void {
    const song = this.songs.get(jobId);
    if (!song) return;
    this.songs.delete(jobId);
    if (song.timer) clearTimeout(song.timer);
    song.demand?.abort.abort();
    for (const c of song.copies) void remove(c.path);
    for (const p of song.leaving) void remove(p);
  }

  /** Removes every copy (the app stops). */
  async dispose(): Promise<void> {
    const paths = [...this.songs.values()].flatMap((s) => [...s.copies.map((c) => c.path), ...s.leaving]);
    for (const id of [...this.songs.keys()]) this.drop(id);
    await Promise.all(paths.map(remove));
  }

  private song(jobId: string): Song {
    let song = this.songs.get(jobId);
    if (!song) {
      song = {
        copies: [],
        next: 1,
        leaving: new Set(),
        lastChanged: -Infinity,
        timer: null,
        demand: null,
        rendered: [],
        lastRead: -Infinity,
      };
      this.songs.set(jobId, song);
    }
    return song;
  }

  private pathFor(jobId: string, revision: number): string {
    return join(this.deps.dir, tempName(`${jobId}-${revision}.copy`, 'listen'));
  }

  private begin(jobId: string, song: Song, copy: Copy): ListenTicket {
    song.copies.push(copy);
    const current = () => this.songs.get(jobId) === song && song.copies.includes(copy);
    let settled = false;
    return {
      revision: copy.revision,
      path: copy.path,
      playheadFirst: this.playheadFirst(song, copy),
      onListen: (l) => {
        if (!current()) return;
        copy.view = {
          revision: copy.revision,
          sampleRate: l.sampleRate,
          frames: l.frames,
          readyFrames: l.readyFrames,
          sources: [...l.sources],
          ...(l.notWritten ? { notWritten: l.notWritten } : {}),
        };
        if (l.notWritten) copy.notWritten = { notice: l.notWritten, written: false };
        this.grew(jobId, song);
      },
      settle: (ok) => {
        if (settled) return;
        settled = true;
        if (!current()) {
          // Replaced or dropped meanwhile: whatever the render left is no one's.
          song.leaving.delete(copy.path);
          void remove(copy.path);
          return;
        }
        if (!ok) {
          song.copies.splice(song.copies.indexOf(copy), 1);
          void remove(copy.path);
          return;
        }
        copy.lastUse = ++this.uses;
        // A render that could not write its copy is like one dropped over the cap: written again from its stems.
        copy.state = copy.view?.notWritten ? 'dropped' : 'done';
        if (copy.view && copy.state === 'done') copy.view = { ...copy.view, readyFrames: copy.view.frames };
        this.prune(song);
        this.keepUnderCap();
      },
    };
  }

  /**
   * Keeps the newest two finished renders and the running ones; an older render dropped over the cap goes (the
   * song's stems now hold the newer one, so it cannot be written again).
   */
  private prune(song: Song): void {
    const done = song.copies.filter((c) => c.state !== 'running').sort((a, b) => b.revision - a.revision);
    for (const c of [
      ...done.slice(2),
      ...done.slice(1, 2).filter((x) => x.state === 'dropped' || x.state === 'restoring'),
    ]) {
      song.copies.splice(song.copies.indexOf(c), 1);
      void remove(c.path);
    }
  }

  /**
   * Whether the render of `copy` waits for its block at the playhead: only a re-render (rendered on demand from the
   * estimate cache) of a song a player reads now. The wait ends when that block has been rendered (or could not be),
   * the render is replaced, or PLAYHEAD_WAIT_MS have passed.
   */
  private playheadFirst(song: Song, copy: Copy): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    if (!copy.controls || !this.deps.engine.renderRegion || now - song.lastRead > LISTENING_MS)
      return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => copy.start?.(), this.deps.playheadWait ?? PLAYHEAD_WAIT_MS);
      timer.unref?.();
      copy.start = () => {
        copy.start = null;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** A replaced render's copy is no longer served; its file goes when the render has stopped writing it. */
  private leave(song: Song, copy: Copy): void {
    copy.start?.();
    song.copies.splice(song.copies.indexOf(copy), 1);
    song.leaving.add(copy.path);
  }

  /** Frames became final: the UI hears of it at most once per interval, and of the last growth always. */
  private grew(jobId: string, song: Song): void {
    const interval = this.deps.interval ?? 250;
    if (song.timer) return;
    const wait = song.lastChanged + interval - Date.now();
    const fire = () => {
      song.timer = null;
      song.lastChanged = Date.now();
      if (this.songs.get(jobId) !== song) return;
      this.deps.changed(jobId);
      // Copies being written grow: the others may have to make room.
      this.keepUnderCap();
    };
    if (wait <= 0) fire();
    else {
      song.timer = setTimeout(fire, wait);
      song.timer.unref?.();
    }
  }

  /** Drops finished copies, least recently used first, until all copies fit under the cap (one pass at a time). */
  private keepUnderCap(): void {
    this.capping = this.capping.then(() => this.dropOverCap()).catch(() => {});
  }

  private async dropOverCap(): Promise<void> {
    const cap = this.deps.cap ?? LISTEN_CAP_BYTES;
    const kept = [...this.songs].flatMap(([jobId, song]) => song.copies.map((copy) => ({ jobId, song, copy })));
    const sizes = await Promise.all(
      kept.map(({ copy }) =>
        copy.state === 'dropped'
          ? 0
          : stat(copy.path).then(
              (s) => s.size,
              () => 0,
            ),
      ),
    );
    let total = sizes.reduce((a, b) => a + b, 0);
    const droppable = kept
      .map((k, i) => ({ ...k, bytes: sizes[i] }))
      .filter((k) => k.copy.state === 'done' && k.jobId !== this.listenedTo)
      .sort((a, b) => a.copy.lastUse - b.copy.lastUse);
    for (const { jobId, song, copy, bytes } of droppable) {
      if (total <= cap) break;
      // Read, replaced or dropped while the sizes were taken.
      if (
        copy.state !== 'done' ||
        jobId === this.listenedTo ||
        this.songs.get(jobId) !== song ||
        !song.copies.includes(copy)
      )
        continue;
      total -= bytes;
      void remove(copy.path);
      // Only the render the song's stems hold can be written again; an older one (the A side) is gone.
      if (copy.revision === (this.deps.jobs.get(jobId)?.result?.revision ?? 0) && copy.view) {
        copy.state = 'dropped';
        copy.view = { ...copy.view, readyFrames: 0 };
        this.deps.changed(jobId);
      } else {
        song.copies.splice(song.copies.indexOf(copy), 1);
      }
    }
  }

  /**
   * Writes a dropped copy again from its song's stems (copy-from-stems.ts); its readyFrames grows as it goes, as a
   * render's does. A re-render of the song starting meanwhile replaces the stems: the copy is dropped again (and asked
   * for again once that render is done, it is the older one and goes).
   */
  private restore(jobId: string, song: Song, copy: Copy): void {
    const { notWritten: _notWritten, ...view } = copy.view!;
    copy.state = 'restoring';
    copy.path = this.pathFor(jobId, copy.revision);
    copy.failed = null;
    const current = () => this.songs.get(jobId) === song && song.copies.includes(copy) && copy.state === 'restoring';
    const rerendering = () => song.copies.some((c) => c.state === 'running');
    const name = this.deps.jobs.get(jobId)?.name ?? jobId;
    void (async () => {
      const result = this.deps.jobs.get(jobId)?.result;
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
          decodeStream: this.deps.decodeStream,
          onReady: (l) => {
            if (!current()) return;
            copy.view = { ...view, readyFrames: l.readyFrames };
            this.grew(jobId, song);
          },
          goOn: () => current() && !rerendering(),
        });
        if (outcome === 'done') {
          copy.state = 'done';
          if (copy.notWritten) {
            copy.notWritten.written = true;
            this.deps.changed(jobId); // the song's notices change (notices())
          }
          this.keepUnderCap();
        } else if (current()) {
          copy.state = 'dropped';
          copy.view = { ...view, readyFrames: 0 };
          this.deps.changed(jobId);
        }
      } catch (err) {
        if (!current()) return;
        // Kept as dropped, with the reason the UI shows where the song's player is; tried again later (retryLater).
        const error = asXumxError(err);
        // The copy's own file failing (a full disk) is the folder's doing, not the stems'; its name is a temporary one.
        const own = `${copy.path}: `;
        const message =
          error.file === copy.path
            ? `${name}: the song's audio cannot be written again to ${this.deps.dir} (${
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
          at: this.now(),
        };
        this.deps.changed(jobId);
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
      if (this.songs.get(jobId) !== song || !song.copies.includes(copy) || copy.failed !== failed) return;
      if (copy.state !== 'dropped' || this.listenedTo !== jobId || song.copies.some((c) => c.state === 'running'))
        return;
      this.restore(jobId, song, copy);
    };
    if (this.deps.later) return this.deps.later(run, LISTEN_RETRY_MS);
    setTimeout(run, LISTEN_RETRY_MS).unref?.();
  }

  /** A failed rebuild is tried again once its stem files have changed, or a while after it failed. */
  private async mayRetry(failed: NonNullable<Copy['failed']>, job: JobView): Promise<boolean> {
    if (this.now() - failed.at >= LISTEN_RETRY_MS) return true;
    return !job.result || (await stemFilesStamp(job.result.stemPaths)) !== failed.stems;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private async fromCopy(
    job: JobView,
    copy: Copy,
    view: CopyView,
    from: number,
    frames: number,
    givenUp?: AbortSignal,
  ): Promise<ListenAnswer> {
    await this.decodeTurn();
    try {
      // A player that seeks gives up the blocks it asked for ahead: decoding them would keep the one at the new
      // playhead waiting.
      if (givenUp?.aborted) return { kind: 'not-ready', message: `${job.name}: the request was given up` };
      return await this.decode(job, copy, view, from, frames);
    } finally {
      this.decoding--;
      this.waiting.shift()?.();
    }
  }

  /** Waits until fewer than LISTEN_DECODES blocks are being decoded, and takes a place. */
  private async decodeTurn(): Promise<void> {
    while (this.decoding >= LISTEN_DECODES) await new Promise<void>((r) => this.waiting.push(r));
    this.decoding++;
  }

  private async decode(job: JobView, copy: Copy, view: CopyView, from: number, frames: number): Promise<ListenAnswer> {
    let samples: Float32Array;
    try {
      samples = await (this.deps.readCopy ?? readListeningCopy)(
        copy.path,
        view.sources.length,
        view.frames,
        from,
        frames,
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return { kind: 'not-kept', message: `${job.name}: render ${copy.revision} is not kept` };
      return {
        kind: 'failed',
        code: asXumxError(err).code,
        message: `${job.name}: render ${copy.revision}'s listening copy cannot be read (${(err as Error).message})`,
      };
    }
    return {
      kind: 'audio',
      wav: floatWav(
        Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength),
        view.sources.length * 2,
        view.sampleRate,
      ),
      from,
      frames,
    };
  }

  /**
   * Frames not written yet of the newest re-render, rendered from the estimate cache. One render at a time per song
   * (the DSP threads are shared with the re-render itself); a request for a newer revision cancels older ones, and a
   * request `givenUp` (a seek, an aborted fetch) is not rendered when its turn comes, or stops being rendered.
   */
  private async onDemand(
    job: JobView,
    song: Song,
    copy: Copy,
    from: number,
    frames: number,
    givenUp?: AbortSignal,
  ): Promise<ListenAnswer> {
    const view = copy.view!;
    const kept = song.rendered.find(
      (b) => b.revision === copy.revision && b.start <= from && from + frames <= b.start + b.frames,
    );
    if (kept) return this.block(view, kept, from, frames);
    if (song.demand && song.demand.revision > copy.revision)
      return { kind: 'not-ready', message: `${job.name}: not rendered yet` };
    if (!song.demand || song.demand.revision < copy.revision) {
      song.demand?.abort.abort();
      song.demand = { revision: copy.revision, abort: new AbortController(), tail: Promise.resolve() };
      song.rendered = [];
    }
    const demand = song.demand;
    const turn = demand.tail.then(async (): Promise<ListenAnswer> => {
      if (demand.abort.signal.aborted || !song.copies.includes(copy))
        return { kind: 'not-ready', message: `${job.name}: not rendered yet` };
      // Rendering a block the player no longer wants would keep the one at its new playhead waiting.
      if (givenUp?.aborted) return { kind: 'not-ready', message: `${job.name}: the request was given up` };
      // Written meanwhile (or rendered by the request before this one): no need to render it.
      if (from < copy.view!.readyFrames)
        return this.fromCopy(job, copy, copy.view!, from, Math.min(frames, copy.view!.readyFrames - from), givenUp);
      const again = song.rendered.find(
        (b) => b.revision === copy.revision && b.start <= from && from + frames <= b.start + b.frames,
      );
      if (again) return this.block(view, again, from, frames);
      let result;
      try {
        result = await this.deps.engine.renderRegion!(
          this.deps.requestFor(job.input, copy.controls!),
          { start: from, frames },
          { signal: givenUp ? AbortSignal.any([demand.abort.signal, givenUp]) : demand.abort.signal },
        );
      } catch (err) {
        // The engine is stopping (the app closes): nothing more will be rendered.
        return { kind: 'not-ready', message: `${job.name}: not rendered yet (${(err as Error).message})` };
      } finally {
        // The listener's block is there (or cannot be): the whole song renders now.
        copy.start?.();
      }
      if (!result.ok) {
        if (result.error.code === 'NOT_CACHED' || result.error.code === 'CANCELLED')
          return { kind: 'not-ready', message: `${job.name}: not rendered yet` };
        return { kind: 'failed', code: result.error.code, message: result.error.message };
      }
      const samples = interleave(result, view.sources);
      if (!samples)
        return {
          kind: 'failed',
          code: 'INTERNAL',
          message: `${job.name}: the part rendered has other stems than render ${copy.revision}`,
        };
      const block: RenderedBlock = { revision: copy.revision, start: result.start, frames: result.frames, samples };
      song.rendered = [block, ...song.rendered].slice(0, 4);
      if (block.frames === 0) return { kind: 'not-ready', message: `${job.name}: not rendered yet` };
      return this.block(view, block, from, Math.min(frames, block.frames));
    });
    demand.tail = turn.catch(() => {});
    return turn;
  }

  private block(view: CopyView, block: RenderedBlock, from: number, frames: number): ListenAnswer {
    const width = view.sources.length * 2;
    const part = block.samples.subarray((from - block.start) * width, (from - block.start + frames) * width);
    return {
      kind: 'audio',
      wav: floatWav(Buffer.from(part.buffer, part.byteOffset, part.byteLength), width, view.sampleRate),
      from,
      frames,
    };
  }
}

/** A song never queued or removed, refused as every call about a job refuses it (BAD_ARGUMENT). */
function unknownSong(jobId: string, removed?: string): ListenRefusal {
  const message = `no song with id ${jobId} in the queue`;
  return { kind: 'bad-request', message: removed === undefined ? message : `${message} (${removed} was removed)` };
}

function viewOf(copy: Copy | undefined): ListenView | null {
  return copy?.view
    ? {
        ...copy.view,
        complete: copy.state !== 'running',
        sources: [...copy.view.sources],
        error: copy.failed && { ...copy.failed.error },
      }
    : null;
}

async function remove(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => {});
}

/** A rendered part's stems interleaved in the copy's order; null when it has other stems. */
function interleave(part: RegionOk, sources: string[]): Float32Array | null {
  if (Object.keys(part.stems).length !== sources.length || sources.some((s) => !part.stems[s])) return null;
  const width = sources.length * 2;
  const out = new Float32Array(part.frames * width);
  sources.forEach((s, k) => {
    for (let c = 0; c < 2; c++) {
      const ch = part.stems[s][c];
      for (let i = 0, o = k * 2 + c; i < part.frames; i++, o += width) out[o] = ch[i];
    }
  });
  return out;
}

const WAV_HEADER_BYTES = 44;

/**
 * A 32-bit float WAV (format 3) around interleaved samples. The plain 44-byte header puts the samples on a 4-byte
 * boundary, so a reader can view them as floats without copying.
 */
export function floatWav(data: Buffer, channels: number, sampleRate: number): Buffer {
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(3, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 4, 28);
  header.writeUInt16LE(channels * 4, 32);
  header.writeUInt16LE(32, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
