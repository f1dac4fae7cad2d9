// MPEG audio (MP1/MP2/MP3) frame headers: enough parsing to recognise a stream by its bytes, to find the
// frame count that a Xing/Info/VBRI header promises, and to walk the frames so that a file cut mid-frame or
// damaged in the middle is told apart from a whole one. The samples themselves come from mpg123 (decode.ts).

export interface MpegFrameHeader {
  /** Bytes in the whole frame, header included. */
  length: number;
  sampleRate: number;
  channels: 1 | 2;
  samplesPerFrame: number;
  /** 1 = MPEG-1, 2 = MPEG-2, 2.5 = MPEG-2.5 */
  version: 1 | 2 | 2.5;
  layer: 1 | 2 | 3;
}

// kbps, index 1..14 (0 = free format, which we do not accept: its length cannot be known from the header).
const BITRATES: Record<string, number[]> = {
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES = { 1: [44100, 48000, 32000], 2: [22050, 24000, 16000], 2.5: [11025, 12000, 8000] } as const;

/** Parses the 4-byte frame header at `at`, or returns null when those bytes are not a valid one. */
export function parseMpegHeader(b: Uint8Array, at: number): MpegFrameHeader | null {
  if (at + 4 > b.length || b[at] !== 0xff || (b[at + 1] & 0xe0) !== 0xe0) return null;
  const v = (b[at + 1] >> 3) & 3;
  const l = (b[at + 1] >> 1) & 3;
  const brIndex = b[at + 2] >> 4;
  const srIndex = (b[at + 2] >> 2) & 3;
  if (v === 1 || l === 0 || brIndex === 0 || brIndex === 15 || srIndex === 3) return null;
  const version = v === 3 ? 1 : v === 2 ? 2 : 2.5;
  const layer = (4 - l) as 1 | 2 | 3;
  const table = version === 1 ? `1-${layer}` : layer === 1 ? '2-1' : '2-2';
  const bitrate = BITRATES[table][brIndex] * 1000;
  const sampleRate = SAMPLE_RATES[version][srIndex];
  const padding = (b[at + 2] >> 1) & 1;
  let length: number;
  let samplesPerFrame: number;
  if (layer === 1) {
    length = (Math.floor((12 * bitrate) / sampleRate) + padding) * 4;
    samplesPerFrame = 384;
  } else if (layer === 2 || version === 1) {
    length = Math.floor((144 * bitrate) / sampleRate) + padding;
    samplesPerFrame = 1152;
  } else {
    length = Math.floor((72 * bitrate) / sampleRate) + padding;
    samplesPerFrame = 576;
  }
  const channels = b[at + 3] >> 6 === 3 ? 1 : 2;
  return { length, sampleRate, channels, samplesPerFrame, version, layer };
}

/** True for an ADTS (raw AAC) header: the same 12-bit sync as MPEG audio, but layer bits 00. */
export function isAdtsHeader(b: Uint8Array, at: number): boolean {
  return at + 7 <= b.length && b[at] === 0xff && (b[at + 1] & 0xf6) === 0xf0 && ((b[at + 2] >> 2) & 15) < 13;
}

/** Size of an ID3v2 tag starting at `at` (header, body and footer), or 0 when there is none. */
export function id3v2Size(b: Uint8Array, at: number): number {
  if (at + 10 > b.length || b[at] !== 0x49 || b[at + 1] !== 0x44 || b[at + 2] !== 0x33) return 0;
  if ((b[at + 6] | b[at + 7] | b[at + 8] | b[at + 9]) & 0x80) return 0;
  const body = (b[at + 6] << 21) | (b[at + 7] << 14) | (b[at + 8] << 7) | b[at + 9];
  const footer = b[at + 5] & 0x10 ? 10 : 0;
  return 10 + body + footer;
}

/** Offset just past any ID3v2 tags at the start of the file (there may be several). */
export function skipId3v2(b: Uint8Array): number {
  let at = 0;
  for (let size = id3v2Size(b, at); size > 0; size = id3v2Size(b, at)) at += size;
  return at;
}

/**
 * Finds the first frame of an MPEG audio stream at or after `from`: a valid header followed by `chain - 1`
 * more valid headers exactly where the lengths say (or by the end of the file). Chaining is what keeps
 * random bytes from passing as MP3. Searches at most `window` bytes.
 */
export function findMpegStart(b: Uint8Array, from: number, window: number, chain = 3): number {
  const end = Math.min(b.length - 4, from + window);
  for (let at = from; at <= end; at++) {
    if (b[at] !== 0xff) continue;
    let pos = at;
    let ok = 0;
    let first: MpegFrameHeader | null = null;
    while (ok < chain) {
      const h = parseMpegHeader(b, pos);
      if (!h || (first && (h.sampleRate !== first.sampleRate || h.layer !== first.layer))) break;
      first ??= h;
      ok++;
      pos += h.length;
      if (pos >= b.length) {
        ok = chain;
        break;
      }
    }
    if (ok >= chain) return at;
  }
  return -1;
}

/** Bytes of side information after a Layer III frame header (no CRC): where a Xing/Info header starts. */
export function sideInfoBytes(h: Pick<MpegFrameHeader, 'version' | 'channels'>): number {
  return h.version === 1 ? (h.channels === 2 ? 32 : 17) : h.channels === 2 ? 17 : 9;
}

/** Frames (not counting the tag frame itself) that a Xing/Info or VBRI header in the first frame promises. */
export function promisedFrames(b: Uint8Array, first: number): number | null {
  const h = parseMpegHeader(b, first);
  if (!h || h.layer !== 3) return null;
  const x = first + 4 + sideInfoBytes(h);
  const tag = String.fromCharCode(b[x], b[x + 1], b[x + 2], b[x + 3]);
  const be32 = (p: number) => ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  if ((tag === 'Xing' || tag === 'Info') && x + 12 <= b.length) return be32(x + 4) & 1 ? be32(x + 8) : null;
  const v = first + 36;
  if (String.fromCharCode(b[v], b[v + 1], b[v + 2], b[v + 3]) === 'VBRI' && v + 18 <= b.length) return be32(v + 14);
  return null;
}

/**
 * The samples a gapless decoder gives for the stream, when its first frame says: a Xing/Info header with the frame
 * count and the LAME extension (written by LAME and by ffmpeg's encoder, "Lavc"/"Lavf") giving the encoder's delay
 * and end padding: frames × samples per frame − delay − padding. mpg123 cuts exactly these (measured on ffmpeg's
 * CBR, VBR, 48 kHz and mono files). Null when the header does not say, or says something impossible.
 */
export function gaplessSamples(b: Uint8Array, first: number): number | null {
  const h = parseMpegHeader(b, first);
  if (!h || h.layer !== 3) return null;
  const x = first + 4 + sideInfoBytes(h);
  const tag = String.fromCharCode(b[x], b[x + 1], b[x + 2], b[x + 3]);
  if (tag !== 'Xing' && tag !== 'Info') return null;
  const be32 = (p: number) => ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  const flags = be32(x + 4);
  if (!(flags & 1)) return null;
  const frames = be32(x + 8);
  // Frames, bytes, table of contents, quality: each present only when its flag is set.
  const lame = x + 8 + 4 + (flags & 2 ? 4 : 0) + (flags & 4 ? 100 : 0) + (flags & 8 ? 4 : 0);
  // Encoder name (9), revision and VBR method (1), lowpass (1), replay gain (8), flags (1), bitrate (1): then 3 bytes.
  const at = lame + 21;
  if (at + 3 > first + h.length || at + 3 > b.length) return null;
  const encoder = String.fromCharCode(b[lame], b[lame + 1], b[lame + 2], b[lame + 3]);
  if (encoder !== 'LAME' && encoder !== 'Lavc' && encoder !== 'Lavf') return null;
  const delay = (b[at] << 4) | (b[at + 1] >> 4);
  const padding = ((b[at + 1] & 0x0f) << 8) | b[at + 2];
  const samples = frames * h.samplesPerFrame - delay - padding;
  return samples > 0 ? samples : null;
}

/**
 * The samples the decoder gives for a stream whose first frame carries no Xing/Info or VBRI header (an encoder that
 * records neither its delay nor the frame count: older encoders, MP2): every frame whole, so the walked frames times
 * the samples per frame (mpg123 gave exactly that for ffmpeg's CBR, VBR and 48 kHz MP3s written without the header,
 * and for MP2). Null where such a header is there: mpg123 then leaves out the header's frame, and a LAME extension
 * says more (gaplessSamples).
 */
export function plainStreamSamples(b: Uint8Array, first: number, walk: MpegWalk): number | null {
  const h = parseMpegHeader(b, first);
  if (!h || walk.frames === 0) return null;
  const x = first + 4 + sideInfoBytes(h);
  const tag = String.fromCharCode(b[x], b[x + 1], b[x + 2], b[x + 3]);
  const v = first + 36;
  const vbri = String.fromCharCode(b[v], b[v + 1], b[v + 2], b[v + 3]);
  if (h.layer === 3 && (tag === 'Xing' || tag === 'Info' || vbri === 'VBRI')) return null;
  return walk.frames * h.samplesPerFrame;
}

export interface MpegWalk {
  /** Whole audio frames found (a Xing/Info frame counts too). */
  frames: number;
  /** Bytes between frames that are neither frames nor tags, and where the first such run starts. */
  damagedBytes: number;
  firstDamageAt: number;
  /** The last frame header promises more bytes than the file holds. */
  cutMidFrame: boolean;
  /** Bytes after the last frame that are neither frames nor tags (padding or junk; no audio follows). */
  trailingBytes: number;
}

/** Walks every frame from `first` to the end, skipping ID3v1/APE/ID3v2 tags and counting damaged bytes. */
export function walkMpegFrames(b: Uint8Array, first: number): MpegWalk {
  const ref = parseMpegHeader(b, first);
  let frames = 0;
  let damagedBytes = 0;
  let firstDamageAt = -1;
  let cutMidFrame = false;
  let trailingBytes = 0;
  let at = first;
  while (at < b.length) {
    const h = parseMpegHeader(b, at);
    if (h && ref && h.sampleRate === ref.sampleRate && h.layer === ref.layer) {
      if (at + h.length > b.length) {
        cutMidFrame = true;
        break;
      }
      frames++;
      at += h.length;
      continue;
    }
    const tail = b.length - at;
    if (tail === 128 && b[at] === 0x54 && b[at + 1] === 0x41 && b[at + 2] === 0x47) break; // ID3v1 "TAG"
    if (isApeTag(b, at)) break;
    const id3 = id3v2Size(b, at);
    if (id3 > 0) {
      at += id3;
      continue;
    }
    // Lost sync: step to the next place where a chain of frames starts again.
    const next = findMpegStart(b, at + 1, b.length, 2);
    if (next < 0) {
      trailingBytes = b.length - at;
      break;
    }
    if (firstDamageAt < 0) firstDamageAt = at;
    damagedBytes += next - at;
    at = next;
  }
  return { frames, damagedBytes, firstDamageAt, cutMidFrame, trailingBytes };
}

function isApeTag(b: Uint8Array, at: number): boolean {
  const s = 'APETAGEX';
  for (let i = 0; i < 8; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}
