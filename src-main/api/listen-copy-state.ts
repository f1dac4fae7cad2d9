// What ListenCopies keeps: per song its copies (one per kept render), the blocks rendered on demand, and the timers
// and clocks that pace its change reports; and how a copy looks to the UI.
import { rm } from 'node:fs/promises';
import type { ErrorCode } from '../engine/index.ts';
import type { SeparationControls } from '../engine/types.ts';
import type { ListenView } from './contract.ts';

/** What a copy is, as the UI sees it but for `complete` and `error`, which viewOf adds from the copy's state. */
export type CopyView = Omit<ListenView, 'complete' | 'error'>;

export interface Copy {
  revision: number;
  path: string;
  /** dropped: over the cap, no file (readyFrames 0); restoring: being written again from the song's stems. */
  state: 'running' | 'done' | 'dropped' | 'restoring';
  /** When it was last begun, finished or read (a count, not a time): the least recent goes first over the cap. */
  lastUse: number;
  /** When a player last read a block of it (a count, as lastUse); absent: never. */
  readAt?: number;
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

export interface RenderedBlock {
  revision: number;
  start: number;
  frames: number;
  /** Interleaved as the copy is. */
  samples: Float32Array;
}

export interface Song {
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

/** A song with no copies yet. */
export function newSong(): Song {
  return {
    copies: [],
    next: 1,
    leaving: new Set(),
    lastChanged: -Infinity,
    timer: null,
    demand: null,
    rendered: [],
    lastRead: -Infinity,
  };
}

/**
 * The song's copies a player read last, the latest first, at most two: the render it plays (paused, looping or
 * slowed down it may not read for a while) and the one it played before, which the A/B switch goes back to.
 */
export function heardLast(song: Song): Copy[] {
  return song.copies
    .filter((c) => c.readAt !== undefined)
    .sort((a, b) => b.readAt! - a.readAt!)
    .slice(0, 2);
}

/** The newest block rendered on demand of `copy`'s revision that holds frames [from, from + frames). */
export function renderedBlock(song: Song, copy: Copy, from: number, frames: number): RenderedBlock | undefined {
  return song.rendered.find(
    (b) => b.revision === copy.revision && b.start <= from && from + frames <= b.start + b.frames,
  );
}

/** The copy as the UI sees it; null until the engine has said what it holds. */
export function viewOf(copy: Copy | undefined): ListenView | null {
  return copy?.view
    ? {
        ...copy.view,
        complete: copy.state !== 'running',
        sources: [...copy.view.sources],
        error: copy.failed && { ...copy.failed.error },
      }
    : null;
}

/** Removes a copy's file; one already gone is no fault. */
export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => {});
}
