// How a long song goes through the network: overlapping chunks of samples, each short enough for the network's
// sequence length, joined again with raised-cosine crossfades that sum to one. Pure math, no I/O.
import type { SegmentSettings } from './segment-settings.ts';

export interface Chunk {
  /** First sample of the chunk in the (44.1 kHz) song. */
  start: number;
  /** Samples of the song in the chunk; only the last chunk may be shorter than the plan's chunkLength. */
  length: number;
}

export interface ChunkPlan {
  /** Samples fed to the network per chunk; a short last chunk is zero-padded to it so chunks batch together. */
  chunkLength: number;
  /** STFT frames per chunk (centred STFT of chunkLength samples). */
  frames: number;
  /** Samples shared by neighbouring chunks (crossfaded). */
  overlap: number;
  /** Distance between chunk starts. */
  stride: number;
  chunks: Chunk[];
}

/** Frames in a centred STFT of `samples` samples. */
export function framesFor(samples: number, hop: number): number {
  return Math.floor(samples / hop) + 1;
}

/** The fewest samples a chunk may have for an STFT of `nFft`: its reflect padding needs more than nFft/2. */
export function minChunkLength(nFft: number): number {
  return nFft / 2 + 1;
}

/**
 * `minLength`: the fewest samples a chunk may have (minChunkLength); a song shorter than that is one chunk zero-padded to it
 * (the STFT reflects its padding, which needs more than nFft/2 samples), and the stems are cut back to the song's
 * length. With it a song of no samples at all (a few samples at 384 kHz) is one chunk of padding.
 */
export function planChunks(
  total: number,
  settings: Pick<SegmentSettings, 'segmentFrames' | 'overlapFrames'>,
  hop: number,
  minLength: number,
): ChunkPlan {
  const { segmentFrames, overlapFrames } = settings;
  if (!Number.isInteger(total) || total < 0 || (total === 0 && minLength < 1))
    throw new RangeError(`cannot plan chunks for ${total} samples`);
  if (!Number.isInteger(segmentFrames) || segmentFrames < 2)
    throw new RangeError(`segmentFrames must be ≥ 2, got ${segmentFrames}`);
  if (!Number.isInteger(overlapFrames) || overlapFrames < 0 || 2 * overlapFrames > segmentFrames - 1) {
    throw new RangeError(`overlapFrames must be between 0 and half a segment, got ${overlapFrames}`);
  }
  const full = (segmentFrames - 1) * hop;
  if (full < minLength)
    throw new RangeError(`segments of ${segmentFrames} frames are shorter than ${minLength} samples`);
  if (total <= full) {
    const chunkLength = Math.max(total, minLength);
    return {
      chunkLength,
      frames: framesFor(chunkLength, hop),
      overlap: 0,
      stride: chunkLength,
      chunks: [{ start: 0, length: total }],
    };
  }
  const overlap = overlapFrames * hop;
  const stride = full - overlap;
  const chunks: Chunk[] = [];
  for (let start = 0; ; start += stride) {
    const length = Math.min(full, total - start);
    chunks.push({ start, length });
    if (start + length >= total) break;
  }
  return { chunkLength: full, frames: segmentFrames, overlap, stride, chunks };
}

/** Raised-cosine fade-in over `n` samples, sampled at sample centres; fadeIn[i] + fadeIn[n-1-i] = 1. */
export function fadeInCurve(n: number): Float32Array {
  const curve = new Float32Array(n);
  for (let i = 0; i < n; i++) curve[i] = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n);
  return curve;
}

/**
 * Joins the chunks of one stem (all channels) back into a stream. Chunks come in plan order; each `add` returns
 * the samples that no later chunk touches any more, so a stem never needs more than one chunk of memory.
 */
export class Crossfader {
  private readonly fadeIn: Float32Array;
  private pending: Float32Array[] | null = null;
  private next: number;

  /**
   * `first`: the chunk the stream starts at (a part of the song on its own). Past the song's first chunk the stream
   * then starts after that chunk's overlap (exactStart), the first sample no earlier chunk adds to.
   */
  constructor(
    private readonly plan: ChunkPlan,
    private readonly channelCount: number,
    private readonly first = 0,
  ) {
    this.fadeIn = fadeInCurve(plan.overlap);
    this.next = first;
  }

  /**
   * `chunk[c]` holds at least plan.chunks[index].length samples of channel c; the fader takes the chunk over (its
   * finished samples are returned as views of it, faded in place, so no stem is copied). Returns finished samples
   * per channel.
   */
  add(index: number, chunk: Float32Array[]): Float32Array[] {
    if (index !== this.next) throw new RangeError(`chunks must come in order: expected ${this.next}, got ${index}`);
    this.next++;
    const { chunks, overlap, stride } = this.plan;
    const { length } = chunks[index];
    const last = index === chunks.length - 1;
    const emitEnd = last ? length : stride;
    const out: Float32Array[] = [];
    const keep: Float32Array[] = [];
    for (let c = 0; c < this.channelCount; c++) {
      const src = chunk[c];
      if (!last && overlap > 0) {
        // before the fade-in below: the tail is past emitEnd, but keep the order obvious
        const tail = new Float32Array(overlap);
        for (let i = 0; i < overlap; i++) tail[i] = (1 - this.fadeIn[i]) * src[stride + i];
        keep.push(tail);
      }
      if (index === this.first && index > 0) {
        out.push(src.subarray(overlap, emitEnd));
        continue;
      }
      const done = src.subarray(0, emitEnd);
      if (index > 0 && overlap > 0) {
        const prev = this.pending![c];
        for (let i = 0; i < overlap; i++) done[i] = prev[i] + this.fadeIn[i] * src[i];
      }
      out.push(done);
    }
    this.pending = last ? null : keep;
    return out;
  }
}

/** The first sample of the joined stream that no chunk before `index` adds to. */
export function exactStart(plan: ChunkPlan, index: number): number {
  return index === 0 ? 0 : plan.chunks[index].start + plan.overlap;
}

/** The end (exclusive) of the joined stream's samples that no chunk after `index` adds to. */
export function exactEnd(plan: ChunkPlan, index: number): number {
  const { start, length } = plan.chunks[index];
  return index === plan.chunks.length - 1 ? start + length : start + plan.stride;
}
