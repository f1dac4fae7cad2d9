// A stem file's waveform peaks (peaks.ts), read a piece at a time: what the waveform shows where no listening copy is
// kept (a two-hour song's, dropped for its size), so the stem is never whole in memory. Its buckets are those of the
// whole stem, whose bounds depend on its length: where the file's header does not give the length (FLAC, MP3), the
// stem is read once to count its frames and again for its peaks.
import { StemReader, XumxError, type StemStream } from '../engine/index.ts';
import { PeakBuckets, type Peaks } from './peaks.ts';

export interface StemFilePeaks extends Peaks {
  sampleRate: number;
  /** Frames per channel of the stem. */
  frames: number;
}

/** Reads at most this many times: a stem replaced while it is read (a re-render) is read again, once. */
const MOST_READS = 3;

/** The stem's peaks in (at most) `buckets` buckets; an error names the file and the reason. */
export async function stemFilePeaks(
  path: string,
  buckets: number,
  decode: (path: string) => Promise<StemStream>,
): Promise<StemFilePeaks> {
  let counted: number | undefined;
  for (let read = 1; ; read++) {
    const reader = await StemReader.open(path, decode);
    try {
      const length = counted ?? reader.frames;
      if (length === undefined) {
        while (await reader.next());
        counted = reader.fed;
      } else {
        const peaks = new PeakBuckets(length, buckets);
        for await (const piece of reader.pieces()) peaks.add(piece);
        if (peaks.added === length) return { ...peaks.finish(), sampleRate: reader.sampleRate, frames: length };
        counted = peaks.added;
      }
    } finally {
      await reader.close();
    }
    if (read === MOST_READS)
      throw new XumxError('FILE_UNREADABLE', `${path}: the file changed each time it was read for its waveform`, path);
  }
}
