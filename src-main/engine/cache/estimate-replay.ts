// A song's estimates read back from its estimate cache entry, for a re-render without the network: the pipeline
// (pipeline.ts separateFromCache) takes one record per chunk, in plan order, and the thread that renders a chunk
// reads and checks its record itself (chunk-renderer.ts).
import { XumxError } from '../errors.ts';
import type { CachedEstimates } from '../separate/replay-chunks.ts';
import type { EpName } from '../types.ts';
import type { CachedRecord, EstimateFileReader } from './estimate-file.ts';

export class EstimateReplay implements CachedEstimates {
  constructor(private readonly reader: EstimateFileReader) {}

  /** The provider that computed the estimates. */
  get ep(): EpName {
    return this.reader.header.ep as EpName;
  }

  /** How the song was cut into chunks when the estimates were made. */
  get segments(): { segmentFrames: number; overlapFrames: number } {
    const { segmentFrames, overlapFrames } = this.reader.header;
    return { segmentFrames, overlapFrames };
  }

  /** Where the next chunk's record is, for the thread that renders the chunk to read and check. */
  nextRecord(frames: number): CachedRecord {
    const { header, path } = this.reader;
    if (frames !== header.frames) {
      throw new XumxError(
        'CACHE_CORRUPT',
        `${path}: cached chunks have ${header.frames} frames, this job asks for ${frames}`,
        path,
      );
    }
    return this.reader.claimChunk();
  }

  /** Every cached chunk was used: the cache and this job cut the song the same way. */
  checkFinished(): void {
    const { remaining } = this.reader;
    if (remaining !== 0) {
      throw new XumxError(
        'CACHE_CORRUPT',
        `${this.reader.path}: ${remaining} cached chunks were left over; the song was cut differently`,
        this.reader.path,
      );
    }
  }

  dispose(): Promise<void> {
    return this.reader.close();
  }
}
