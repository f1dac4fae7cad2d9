// All songs' listening copies together stay under a cap: beyond it the finished copies used least recently are
// dropped, never one being written, nor those of the song listened to last.
import { stat } from 'node:fs/promises';
import { removeFile as remove, type Song } from './listen-copy-state.ts';

export interface CapRules {
  /** Bytes all copies may take together. */
  cap: number;
  /** The song listened to last, asked after the sizes are taken: its copies stay. */
  listenedTo(): string | null;
  /** The revision the song's stems hold now: only that render's copy can be written again once dropped. */
  currentRevision(jobId: string): number;
  /** A song's copies changed in a way the UI should hear of. */
  changed(jobId: string): void;
}

/** Removes the files of finished copies, least recently used first, until all copies fit under `rules.cap`. */
export async function dropOverCap(
  songs: ReadonlyMap<string, Song>,
  { cap, listenedTo, currentRevision, changed }: CapRules,
): Promise<void> {
  const kept = [...songs].flatMap(([jobId, song]) => song.copies.map((copy) => ({ jobId, song, copy })));
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
    .filter((k) => k.copy.state === 'done' && k.jobId !== listenedTo())
    .sort((a, b) => a.copy.lastUse - b.copy.lastUse);
  for (const { jobId, song, copy, bytes } of droppable) {
    if (total <= cap) break;
    // Read, replaced or dropped while the sizes were taken.
    if (copy.state !== 'done' || jobId === listenedTo() || songs.get(jobId) !== song || !song.copies.includes(copy))
      continue;
    total -= bytes;
    void remove(copy.path);
    // Only the render the song's stems hold can be written again; an older one (the A side) is gone.
    if (copy.revision === currentRevision(jobId) && copy.view) {
      copy.state = 'dropped';
      copy.view = { ...copy.view, readyFrames: 0 };
      changed(jobId);
    } else {
      song.copies.splice(song.copies.indexOf(copy), 1);
    }
  }
}
