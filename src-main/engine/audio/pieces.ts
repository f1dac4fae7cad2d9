// Decoded audio handed over in pieces, in order, as a reader makes them: the engine writes a song's pieces to disk
// as they come (separate/song-samples.ts), so a long recording is never whole in memory; decodeFile joins them for
// callers that want whole channels.

import type { PcmAudio } from '../types.ts';

export interface PieceStream {
  /** Known from the header, or set by the reader when its first piece comes. */
  sampleRate: number;
  /** Grows while the pieces come (e.g. a count of replaced NaN samples); complete once they have all come. */
  notices: string[];
  /** Frames per channel where the header promises them exactly: lets a join allocate once. */
  frames?: number;
  /** Planar pieces, one Float32Array per channel, all of a piece the same length; each is the caller's to keep. */
  pieces: AsyncGenerator<Float32Array[]>;
}

/** A reader that decodes whole (libav's containers) as a stream of one piece. */
export function wholeStream(a: PcmAudio & { notices: string[] }): PieceStream {
  return {
    sampleRate: a.sampleRate,
    notices: a.notices,
    frames: a.channels[0]?.length ?? 0,
    pieces: (async function* () {
      yield a.channels;
    })(),
  };
}

/** All the pieces joined per channel. */
export async function joinPieces(s: {
  frames?: number;
  pieces: AsyncIterable<Float32Array[]>;
}): Promise<Float32Array[]> {
  if (s.frames !== undefined) {
    let channels: Float32Array[] | null = null;
    let at = 0;
    for await (const piece of s.pieces) {
      channels ??= piece.map(() => new Float32Array(s.frames!));
      piece.forEach((c, i) => channels![i].set(c, at));
      at += piece[0].length;
    }
    return channels ?? [];
  }
  const pieces: Float32Array[][] = [];
  let total = 0;
  for await (const piece of s.pieces) {
    pieces.push(piece);
    total += piece[0].length;
  }
  // One channel at a time, dropping each channel's pieces as it goes, so the peak is the audio plus one channel.
  const count = pieces[0]?.length ?? 0;
  const channels: Float32Array[] = [];
  for (let c = 0; c < count; c++) {
    const out = new Float32Array(total);
    let at = 0;
    for (const p of pieces) {
      out.set(p[c], at);
      at += p[c].length;
      p[c] = new Float32Array(0);
    }
    channels.push(out);
  }
  return channels;
}
