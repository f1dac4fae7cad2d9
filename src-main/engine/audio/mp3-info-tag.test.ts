import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMpegHeader, sideInfoBytes } from './mpeg-frames.ts';
import { crc16, infoFrame, infoFrameLength } from './mp3-info-tag.ts';

// An MPEG-1 Layer III header: 320 kbps, 44.1 kHz, joint stereo, with the padding bit set and a CRC announced.
const AUDIO_HEADER = Uint8Array.from([0xff, 0xfa, 0xe2, 0x44]);

describe('MP3 Info frame', () => {
  test('CRC-16 is the ARC variant LAME uses', () => {
    assert.equal(crc16(new TextEncoder().encode('123456789')), 0xbb3d);
  });

  test("is one unpadded frame of the stream's format and gives back the delay, padding and frame count", () => {
    const frames = 77;
    const samples = frames * 1152 - 576 - 1000;
    const f = infoFrame(AUDIO_HEADER, { frames, bytes: 12345, samples, musicCrc: 0xbeef, kbps: 320 });
    assert.equal(f.length, 1044);
    assert.equal(infoFrameLength(AUDIO_HEADER), 1044);
    assert.equal(f[1] & 1, 1, 'no CRC');
    assert.equal(f[2] & 2, 0, 'no padding slot');
    assert.equal(String.fromCharCode(...f.subarray(36, 40)), 'Info');
    assert.deepEqual(readGapless(f, 0), { delay: 576, padding: 1000, frames });
  });

  test('a tag whose checksum does not match is ignored, and padding that cannot be stored is refused', () => {
    const f = infoFrame(AUDIO_HEADER, { frames: 10, bytes: 100, samples: 10 * 1152 - 576, musicCrc: 0, kbps: 320 });
    f[177] ^= 0x10; // the delay's bits
    assert.equal(readGapless(f, 0), null);
    assert.throws(
      () => infoFrame(AUDIO_HEADER, { frames: 10, bytes: 100, samples: 10 * 1152, musicCrc: 0, kbps: 320 }),
      /out of range/,
    );
  });
});

/** What a gapless decoder reads: the delay and padding a LAME tag in the frame at `first` declares (null: none, or damaged). */
function readGapless(b: Uint8Array, first: number): { delay: number; padding: number; frames: number } | null {
  const h = parseMpegHeader(b, first);
  if (!h || h.layer !== 3) return null;
  let at = first + 4 + sideInfoBytes(h);
  const tag = String.fromCharCode(...b.subarray(at, at + 4));
  if (tag !== 'Info' && tag !== 'Xing') return null;
  const be32 = (p: number) => ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  const flags = be32(at + 4);
  at += 8;
  let frames = -1;
  if (flags & 1) {
    frames = be32(at);
    at += 4;
  }
  if (flags & 2) at += 4;
  if (flags & 4) at += 100;
  if (flags & 8) at += 4;
  if (frames < 0 || at + 36 > b.length || String.fromCharCode(...b.subarray(at, at + 4)) !== 'LAME') return null;
  if (crc16(b.subarray(first, at + 34)) !== ((b[at + 34] << 8) | b[at + 35])) return null; // a damaged tag is ignored
  const d = at + 21;
  return { delay: (b[d] << 4) | (b[d + 1] >> 4), padding: ((b[d + 1] & 0x0f) << 8) | b[d + 2], frames };
}
