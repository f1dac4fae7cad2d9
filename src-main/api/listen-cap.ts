// All songs' listening copies together stay under a cap: beyond it the finished copies used least recently are
// dropped, never one being written, nor the current render of the song listened to last, nor the two renders of it
// a player read last (the one it plays and the one its A/B switch goes back to). That song's other renders go last:
// a long recording's renders are each larger than the cap (4.9 GB for two hours), and it kept every one it had.
import { stat } from 'node:fs/promises';
import { heardLast, removeFile as remove, type Copy, type Song } from './listen-copy-state.ts';

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
  const listened = listenedTo();
  // The listened song's renders it does not play, nor compare with, nor hold in its stems: last.
  const spare = (k: { jobId: string; song: Song; copy: Copy }) =>
    k.jobId === listened && k.copy.revision !== currentRevision(k.jobId) && !heardLast(k.song).includes(k.copy);
  const sized = kept.map((k, i) => ({ ...k, bytes: sizes[i] }));
  const byUse = (a: { copy: Copy }, b: { copy: Copy }) => a.copy.lastUse - b.copy.lastUse;
  const droppable = [
    ...sized.filter((k) => k.copy.state === 'done' && k.jobId !== listened).sort(byUse),
    ...sized.filter((k) => k.copy.state === 'done' && spare(k)).sort(byUse),
  ];
  for (const { jobId, song, copy, bytes } of droppable) {
    if (total <= cap) break;
    // Read, replaced or dropped while the sizes were taken.
    const stillDroppable = jobId !== listenedTo() || (jobId === listened && spare({ jobId, song, copy }));
    if (copy.state !== 'done' || !stillDroppable || songs.get(jobId) !== song || !song.copies.includes(copy)) continue;
    total -= bytes;
    void remove(copy.path);
    // Only the render the song's stems hold can be written again; an older one (the A side) is gone.
    if (copy.revision === currentRevision(jobId) && copy.view) {
      copy.state = 'dropped';
      copy.view = { ...copy.view, readyFrames: 0 };
    } else {
      song.copies.splice(song.copies.indexOf(copy), 1);
    }
    // The UI hears of it: a render its A/B switch can no longer go to, or one to be written again when asked for.
    changed(jobId);
  }
}
