// Raw AAC (ADTS) frames: each carries its own 7- or 9-byte header with the frame's length, profile, rate and
// channel configuration, so the stream is split into frames here and each frame goes to the decoder whole
// (libav.ts). Walking the lengths is also what tells a file cut mid-frame or damaged in the middle from a whole one.
import { id3v2Size, isAdtsHeader } from './mpeg-frames.ts';

export interface AdtsWalk {
  /** Each frame's bytes, header included, in order. */
  frames: Uint8Array[];
  /** The last header promises more bytes than the file holds. */
  cutMidFrame: boolean;
  /** Bytes between frames that are neither frames nor tags, and where the first such run starts. */
  damagedBytes: number;
  firstDamageAt: number;
  /** Bytes after the last frame that are tags or junk. */
  trailingBytes: number;
}

/** The sampling rates AAC can declare, by sampling_frequency_index (ISO 14496-3). */
export const AAC_SAMPLE_RATES: readonly number[] = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

export function adtsFrameLength(b: Uint8Array, at: number): number {
  return ((b[at + 3] & 3) << 11) | (b[at + 4] << 3) | (b[at + 5] >> 5);
}

/** A header whose frame length is sane and whose rate matches the stream's first frame. */
function isFrameAt(b: Uint8Array, at: number, rateIndex: number): boolean {
  return isAdtsHeader(b, at) && adtsFrameLength(b, at) >= 7 && (rateIndex < 0 || ((b[at + 2] >> 2) & 15) === rateIndex);
}

export function walkAdtsFrames(b: Uint8Array, first: number): AdtsWalk {
  const rateIndex = (b[first + 2] >> 2) & 15;
  const walk: AdtsWalk = { frames: [], cutMidFrame: false, damagedBytes: 0, firstDamageAt: -1, trailingBytes: 0 };
  let at = first;
  while (at < b.length) {
    if (isFrameAt(b, at, rateIndex)) {
      const len = adtsFrameLength(b, at);
      if (at + len > b.length) {
        walk.cutMidFrame = true;
        break;
      }
      walk.frames.push(b.subarray(at, at + len));
      at += len;
      continue;
    }
    const id3 = id3v2Size(b, at);
    if (id3 > 0) {
      at += id3;
      continue;
    }
    const tail = b.length - at;
    if (tail === 128 && b[at] === 0x54 && b[at + 1] === 0x41 && b[at + 2] === 0x47) {
      walk.trailingBytes = tail;
      break;
    } // ID3v1
    let next = -1;
    for (let p = at + 1; p + 7 <= b.length; p++) {
      if (
        isFrameAt(b, p, rateIndex) &&
        (p + adtsFrameLength(b, p) === b.length || isFrameAt(b, p + adtsFrameLength(b, p), rateIndex))
      ) {
        next = p;
        break;
      }
    }
    if (next < 0) {
      walk.trailingBytes = tail;
      break;
    }
    if (walk.firstDamageAt < 0) walk.firstDamageAt = at;
    walk.damagedBytes += next - at;
    at = next;
  }
  return walk;
}
