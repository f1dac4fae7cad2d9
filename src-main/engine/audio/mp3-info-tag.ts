// The "Info" frame at the start of a CBR MP3 with its LAME extension: frame count, byte count and, what matters
// here, the encoder delay and end padding. Without it every decoder plays the encoder's 576 samples of delay plus
// its own 529 of decoder delay, so a stem comes out ~25 ms late against the song and the other formats' stems;
// with it, gapless decoders (ffmpeg, mpg123, iTunes and the DAWs built on them) cut both off, and the trailing
// padding, to give back exactly the samples that went in. lamejs (a port of LAME 3.98) can write this frame only
// through a seekable file, which the streaming writer is not, so it is built here and patched in at the end.
import { parseMpegHeader, sideInfoBytes, type MpegFrameHeader } from './mpeg-frames.ts';

/** LAME's encoder delay in samples (lamejs: encoder_delay = 576 for every rate and mode). */
export const LAME_ENCODER_DELAY = 576;

/** CRC-16/ARC (polynomial 0x8005 reflected, initial 0): what the LAME tag uses for the music and for itself. */
const CRC16 = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    table[i] = c;
  }
  return table;
})();

export function crc16(bytes: Uint8Array, crc = 0): number {
  for (let i = 0; i < bytes.length; i++) crc = (crc >>> 8) ^ CRC16[(crc ^ bytes[i]) & 0xff];
  return crc;
}

export interface InfoTagFields {
  /** Audio frames after the Info frame. */
  frames: number;
  /** Bytes of the whole file: the Info frame and the audio frames. */
  bytes: number;
  /** Samples the encoder was given. */
  samples: number;
  /** CRC-16 of the audio frames' bytes. */
  musicCrc: number;
  /** Bitrate in kbps, for the tag's bitrate byte. */
  kbps: number;
}

/** The header of the Info frame for a stream whose first audio frame starts with `firstAudioFrame`. */
function infoHeader(firstAudioFrame: Uint8Array): { head: Uint8Array; h: MpegFrameHeader } {
  const head = Uint8Array.from(firstAudioFrame.subarray(0, 4));
  head[1] |= 0x01; // protection bit set: no CRC after the header
  head[2] &= ~0x02; // no padding slot
  const h = parseMpegHeader(head, 0);
  if (!h || h.layer !== 3) throw new Error('the MP3 encoder did not start with a Layer III frame');
  return { head, h };
}

/** Bytes of the Info frame for that stream (the writer reserves them first and patches them in at the end). */
export function infoFrameLength(firstAudioFrame: Uint8Array): number {
  return infoHeader(firstAudioFrame).h.length;
}

/**
 * An Info frame shaped like `firstAudioFrame`'s header (same version, rate and mode; no padding, no CRC), with
 * `fields` filled in. `encoderDelay + samples + padding` = frames × samples per frame.
 */
export function infoFrame(
  firstAudioFrame: Uint8Array,
  fields: InfoTagFields,
  encoderDelay = LAME_ENCODER_DELAY,
): Uint8Array {
  const { head, h } = infoHeader(firstAudioFrame);
  const frame = new Uint8Array(h.length);
  frame.set(head);
  const view = new DataView(frame.buffer);
  let at = 4 + sideInfoBytes(h);
  const ascii = (s: string) => {
    for (const c of s) frame[at++] = c.charCodeAt(0);
  };
  ascii('Info');
  view.setUint32(at, 0x0f, false); // frames, bytes, TOC and quality present
  view.setUint32(at + 4, fields.frames, false);
  view.setUint32(at + 8, fields.bytes, false);
  at += 12;
  for (let i = 0; i < 100; i++) frame[at + i] = Math.floor((256 * i) / 100); // CBR: position is proportional to time
  at += 100;
  view.setUint32(at, 0, false); // quality
  at += 4;
  const lame = at;
  ascii('LAME3.98r');
  frame[at++] = 0x01; // tag revision 0, method 1: constant bitrate
  frame[at++] = 0; // lowpass: not recorded
  at += 8; // replay gain: none
  frame[at++] = 0; // encoding flags, ATH type
  frame[at++] = Math.min(255, fields.kbps);
  const padding = h.samplesPerFrame * fields.frames - encoderDelay - fields.samples;
  if (padding < 0 || padding > 4095 || encoderDelay > 4095)
    throw new Error(`MP3 gapless info out of range: delay ${encoderDelay}, padding ${padding}`);
  frame[at++] = encoderDelay >> 4;
  frame[at++] = ((encoderDelay & 0x0f) << 4) | (padding >> 8);
  frame[at++] = padding & 0xff;
  frame[at++] = 0; // misc
  frame[at++] = 0; // MP3Gain
  at += 2; // preset, surround
  view.setUint32(at, fields.bytes, false); // music length
  at += 4;
  view.setUint16(at, fields.musicCrc, false);
  at += 2;
  if (at !== lame + 34) throw new Error('LAME tag layout');
  view.setUint16(at, crc16(frame.subarray(0, at)), false);
  return frame;
}
