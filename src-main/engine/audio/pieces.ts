// Decoded audio handed over in pieces, in order, as a reader makes them: the engine writes a song's pieces to disk
// as they come (separate/song-samples.ts), so a long recording is never whole in memory; decodeFile joins them for
// callers that want whole channels; cutPieces and inBlocks take a part of a stream and regroup it without joining it.

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

/** Frames [from, to) of a stream, the frames cutRegion takes of the whole; it stops reading at `to`. */
export async function* cutPieces(
  pieces: AsyncIterable<Float32Array[]>,
  from: number,
  to: number,
): AsyncGenerator<Float32Array[]> {
  let at = 0;
  for await (const piece of pieces) {
    const n = piece[0]?.length ?? 0;
    const a = Math.min(Math.max(from - at, 0), n);
    const b = Math.min(Math.max(to - at, 0), n);
    if (b > a) yield a === 0 && b === n ? piece : piece.map((c) => c.subarray(a, b));
    at += n;
    if (at >= to) return;
  }
}

/** The same frames in blocks of exactly `frames` (the last one shorter), as a whole signal cut into blocks. */
export async function* inBlocks(pieces: AsyncIterable<Float32Array[]>, frames: number): AsyncGenerator<Float32Array[]> {
  let held: Float32Array[][] = [];
  let heldFrames = 0;
  for await (const piece of pieces) {
    const n = piece[0]?.length ?? 0;
    for (let at = 0; at < n;) {
      const take = Math.min(frames - heldFrames, n - at);
      const part = take === n ? piece : piece.map((c) => c.subarray(at, at + take));
      at += take;
      if (heldFrames === 0 && take === frames) {
        yield part;
        continue;
      }
      held.push(part);
      heldFrames += take;
      if (heldFrames === frames) {
        yield concatPieces(held, held[0].length, frames);
        held = [];
        heldFrames = 0;
      }
    }
  }
  if (heldFrames > 0) yield concatPieces(held, held[0].length, heldFrames);
}

/** Pieces of `channels` channels, `frames` frames in all, as one piece (the piece itself when there is one). */
export function concatPieces(parts: Float32Array[][], channels: number, frames: number): Float32Array[] {
  if (parts.length === 1) return parts[0];
  return Array.from({ length: channels }, (_, c) => {
    const out = new Float32Array(frames);
    let at = 0;
    for (const p of parts) {
      out.set(p[c], at);
      at += p[c].length;
    }
    return out;
  });
}
