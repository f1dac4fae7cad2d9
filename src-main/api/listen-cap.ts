// All songs' listening copies together stay under a cap: beyond it the finished copies used least recently are
// dropped, never one being written, nor the current render of the song listened to last. That song's render before
// (the A side of its A/B switch) goes last, and only while no player reads it: a long recording's renders are each
// larger than the cap (5.2 GB for two hours), and the current one, the A side and a re-render under way took three
// times that.
import { stat } from 'node:fs/promises';
import { removeFile as remove, type Copy, type Song } from './listen-copy-state.ts';

export interface CapRules {
  /** Bytes all copies may take together. */
  cap: number;
  /** The song listened to last, asked after the sizes are taken: its copies stay. */
  listenedTo(): string | null;
  /** The revision the song's stems hold now: only that render's copy can be written again once dropped. */
  currentRevision(jobId: string): number;
  /** A song's copies changed in a way the UI should hear of. */
  changed(jobId: string): void;
  /** Whether a player read the copy so recently that it is being listened to. */
  beingRead(copy: Copy): boolean;
}

/**
 * Removes the files of finished copies, least recently used first, until all copies fit under `rules.cap`. True when
 * they still do not because the listened song's render before is being read: it may go once it is not.
 */
export async function dropOverCap(
  songs: ReadonlyMap<string, Song>,
  { cap, listenedTo, currentRevision, changed, beingRead }: CapRules,
): Promise<boolean> {
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
  // The listened song's render before, last: not the one its stems hold, and not being read.
  const aSide = (k: { jobId: string; copy: Copy }) =>
    k.jobId === listened && k.copy.revision !== currentRevision(k.jobId) && !beingRead(k.copy);
  const sized = kept.map((k, i) => ({ ...k, bytes: sizes[i] }));
  const droppable = [
    ...sized
      .filter((k) => k.copy.state === 'done' && k.jobId !== listened)
      .sort((a, b) => a.copy.lastUse - b.copy.lastUse),
    ...sized.filter((k) => k.copy.state === 'done' && aSide(k)),
  ];
  for (const { jobId, song, copy, bytes } of droppable) {
    if (total <= cap) break;
    // Read, replaced or dropped while the sizes were taken.
    const stillDroppable = jobId !== listenedTo() || (jobId === listened && aSide({ jobId, copy }));
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
  const heldForReading = (k: (typeof sized)[number]) =>
    k.copy.state === 'done' &&
    k.jobId === listened &&
    k.copy.revision !== currentRevision(k.jobId) &&
    k.song.copies.includes(k.copy) &&
    beingRead(k.copy);
  return total > cap && sized.some(heldForReading);
}
