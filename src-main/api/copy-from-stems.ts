// A listening copy written again from its song's stem files: what ListenCopies does with a copy dropped over its disk
// cap once a block of it is asked for. The stems hold the render's samples (they are written at the song's own tempo
// and key), so the copy is the one that was dropped, within the copy's coding. Every stem is read a piece at a time
// and the one furthest behind is read next (engine/audio/stem-reader.ts): the copy holds only what the others have
// read beyond it, so a two-hour song takes no more memory than a short one.
import { stat } from 'node:fs/promises';
import { closeStems, furthestBehind, ListeningCopy, StemReader, XumxError } from '../engine/index.ts';
import type { ListenProgress } from '../engine/types.ts';
import type { StemStream } from './ports.ts';

export interface CopyFromStems {
  /** Where the copy is written (created or emptied). */
  path: string;
  /** The copy's stems, in its order, and what each must hold. */
  sources: string[];
  sampleRate: number;
  frames: number;
  /** Each source's stem file. */
  stemPaths: Record<string, string>;
  decodeStream(path: string): Promise<StemStream>;
  /** Frames became final, as a render's copy reports them. */
  onReady(l: ListenProgress): void;
  /** Asked before each piece and at the end: false stops the copy, and its file goes. */
  goOn(): boolean;
}

/**
 * Writes the copy: 'stopped' when `goOn` said so. A stem that cannot be read (the decoder's code), or holds other
 * frames than the render (a file changed since: changedStem), throws an error naming the file; the copy's file goes
 * then too. Every stem file opened is closed before it returns.
 */
export async function copyFromStems(o: CopyFromStems): Promise<'done' | 'stopped'> {
  // In the copy's order: readers[k] reads the stem of o.sources[k].
  const readers: StemReader[] = [];
  let writer: ListeningCopy | null = null;
  try {
    for (const source of o.sources) {
      const reader = await StemReader.open(o.stemPaths[source], o.decodeStream);
      readers.push(reader);
      if (reader.sampleRate !== o.sampleRate || (reader.frames !== undefined && reader.frames !== o.frames))
        throw changedStem(o, source, reader.path, reader.frames ?? 'its', reader.sampleRate);
    }
    writer = await ListeningCopy.create(o.path, o.sources, o.sampleRate, o.frames, o.onReady);
    for (;;) {
      if (!o.goOn()) break;
      const behind = furthestBehind(readers);
      if (!behind) break;
      const k = readers.indexOf(behind);
      const planar = await behind.next();
      if (!planar) {
        if (behind.fed !== o.frames) throw changedStem(o, o.sources[k], behind.path, behind.fed, behind.sampleRate);
        continue;
      }
      if (behind.fed > o.frames)
        throw changedStem(o, o.sources[k], behind.path, `more than ${o.frames}`, behind.sampleRate);
      await writer.add(k, [planar[0], planar[1] ?? planar[0]]);
    }
    if (o.goOn()) await writer.finish();
    if (o.goOn()) return 'done';
    await writer.abort();
    return 'stopped';
  } catch (err) {
    await writer?.abort().catch(() => {});
    throw err;
  } finally {
    await closeStems(readers);
  }
}

/** What the stem files are now (size, time, inode, or why they cannot be looked at), to tell when they change. */
export async function stemFilesStamp(stemPaths: Record<string, string>): Promise<string> {
  const parts = await Promise.all(
    Object.keys(stemPaths)
      .sort()
      .map((source) =>
        stat(stemPaths[source]).then(
          (s) => `${s.size}:${s.mtimeMs}:${s.ino}`,
          (e: NodeJS.ErrnoException) => e.code ?? 'unreadable',
        ),
      ),
  );
  return parts.join('|');
}

/**
 * A stem file changed since the render wrote it: TRUNCATED when it holds fewer frames (cut short), else
 * FILE_UNREADABLE (longer, or at another rate: another file in its place, not the one this app wrote).
 */
function changedStem(
  render: { frames: number; sampleRate: number },
  source: string,
  path: string,
  frames: number | string,
  sampleRate: number,
): XumxError {
  const shorter = typeof frames === 'number' && frames < render.frames && sampleRate === render.sampleRate;
  return new XumxError(
    shorter ? 'TRUNCATED' : 'FILE_UNREADABLE',
    `${path}: the ${source} stem is no longer the one rendered (it holds ${frames} frames at ${sampleRate} Hz, ` +
      `the render ${render.frames} at ${render.sampleRate} Hz)`,
    path,
  );
}
