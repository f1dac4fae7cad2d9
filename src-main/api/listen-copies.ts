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
// This file keeps the copies' lifecycle and finds where a request's frames come from; beside it: the answers and their
// WAV (listen-answers.ts), blocks read from a file (listen-block-reads.ts), blocks rendered on demand
// (listen-on-demand.ts), the cap (listen-cap.ts), copies written again from the stems (listen-restore.ts), and the
// state they share (listen-copy-state.ts).
import { join } from 'node:path';
import {
  asXumxError,
  PEAK_FRAMES,
  readListeningCopy,
  readListeningPeaks,
  tempName,
  type CopyPeaks,
} from '../engine/index.ts';
import type { ListenProgress, SeparateRequest, SeparationControls } from '../engine/types.ts';
import type { JobView, ListenView } from './contract.ts';
import {
  floatWavBytes,
  notReady,
  unknownSong,
  type ListenAnswer,
  type ListenHead,
  type ListenRefusal,
} from './listen-answers.ts';
import { BlockReads } from './listen-block-reads.ts';
import {
  heardLast,
  newSong,
  removeFile as remove,
  viewOf,
  type Copy,
  type CopyView,
  type Song,
} from './listen-copy-state.ts';
import { dropOverCap } from './listen-cap.ts';
import { renderOnDemand, type OnDemandDeps } from './listen-on-demand.ts';
import { CopyRestorer } from './listen-restore.ts';
import type { EnginePort, StemStream } from './ports.ts';

export {
  floatWav,
  listenRefusalBody,
  type ListenAnswer,
  type ListenHead,
  type ListenRefusal,
} from './listen-answers.ts';
export { LISTEN_DECODES } from './listen-block-reads.ts';
export { LISTEN_RETRY_MS } from './listen-restore.ts';

/** What all songs' copies may take on disk together: about 52 minutes of 4-stem audio at 44.1 kHz. */
export const LISTEN_CAP_BYTES = 2 * 2 ** 30;

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

export class ListenCopies {
  private readonly songs = new Map<string, Song>();
  private readonly blocks: BlockReads;
  private readonly onDemand: OnDemandDeps;
  private readonly restorer: CopyRestorer;
  private uses = 0;
  /** The song whose copy was read last: the one being listened to. */
  private listenedTo: string | null = null;
  private capping: Promise<void> = Promise.resolve();
  constructor(private readonly deps: ListenCopiesDeps) {
    this.blocks = new BlockReads(deps.readCopy);
    this.onDemand = {
      renderRegion: (req, region, hooks) => this.deps.engine.renderRegion!(req, region, hooks),
      requestFor: (input, controls) => this.deps.requestFor(input, controls),
      fromCopy: (...args) => this.blocks.read(...args),
    };
    this.restorer = new CopyRestorer({
      dir: deps.dir,
      jobs: deps.jobs,
      decodeStream: (path) => this.deps.decodeStream(path),
      changed: (jobId) => this.deps.changed(jobId),
      ...(deps.later ? { later: deps.later } : {}),
      now: () => this.now(),
      pathFor: (jobId, revision) => this.pathFor(jobId, revision),
      isKept: (jobId, song) => this.songs.get(jobId) === song,
      listenedTo: () => this.listenedTo,
      grew: (jobId, song) => this.grew(jobId, song),
      keepUnderCap: () => this.keepUnderCap(),
    });
  }

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
  views(jobId: string): { listen: ListenView | null; rerender: ListenView | null; kept: number[] } {
    const copies = this.songs.get(jobId)?.copies ?? [];
    const done = copies.filter((c) => c.state !== 'running').sort((a, b) => b.revision - a.revision);
    const running = copies.filter((c) => c.state === 'running').sort((a, b) => b.revision - a.revision);
    const first = running.find((c) => c.revision === 0);
    const rerender = running.find((c) => c.revision > 0);
    return { listen: viewOf(done[0] ?? first), rerender: viewOf(rerender), kept: done.map((c) => c.revision) };
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
        ? await this.blocks.read(found.job, found.copy, found.view, found.from, found.frames, givenUp)
        : found.kind === 'render'
          ? await renderOnDemand(this.onDemand, found.job, found.song, found.copy, found.from, found.frames, givenUp)
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
        bytes: floatWavBytes(found.frames, found.view.sources.length * 2),
        from: found.from,
        frames: found.frames,
      };
    if (found.kind === 'render') return notReady(found.job.name);
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
      // A player that goes over to another render of the song may leave a third one spare (listen-cap.ts).
      const switched = heardLast(song)[0] !== copy;
      copy.lastUse = ++this.uses;
      copy.readAt = copy.lastUse;
      if (this.listenedTo !== jobId || switched) {
        this.listenedTo = jobId;
        this.keepUnderCap();
      }
    }
    const view = copy.view;
    const pending = notReady(job.name);
    if (!view) return pending;
    // While the song re-renders its stems are being replaced: the player gets the new render when it is done.
    if (copy.state === 'dropped' && !song.copies.some((c) => c.state === 'running')) {
      const failed = copy.failed;
      if (failed && (!listening || !(await this.restorer.mayRetry(failed, job))))
        return { kind: 'failed', ...failed.error };
      // Another request may have started it meanwhile.
      if (listening && copy.state === 'dropped') this.restorer.restore(jobId, song, copy);
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
    return pending;
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
      if (copy.failed && !(await this.restorer.mayRetry(copy.failed, job))) return null;
      if (copy.state === 'dropped') this.restorer.restore(jobId, song, copy);
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
      song = newSong();
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
   * Keeps the running renders, the newest finished one and, for the A/B switch, the one before it and the two a
   * player read last (what was heard before the newest: a change made while A plays is compared with A, not with the
   * render numbered before it). An older render dropped over the cap goes (the song's stems now hold the newest, so
   * it cannot be written again).
   */
  private prune(song: Song): void {
    const done = song.copies.filter((c) => c.state !== 'running').sort((a, b) => b.revision - a.revision);
    const keep = new Set([done[0], done[1], ...heardLast(song)]);
    for (const c of done.slice(1)) {
      if (keep.has(c) && c.state !== 'dropped' && c.state !== 'restoring') continue;
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
    this.capping = this.capping
      .then(() =>
        dropOverCap(this.songs, {
          cap: this.deps.cap ?? LISTEN_CAP_BYTES,
          listenedTo: () => this.listenedTo,
          currentRevision: (jobId) => this.deps.jobs.get(jobId)?.result?.revision ?? 0,
          changed: (jobId) => this.deps.changed(jobId),
        }),
      )
      .catch(() => {});
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}
