// Native FLAC stream structure: the STREAMINFO block (what the file promises) and the frame headers near the
// end (what it holds). libFLAC (through @wasm-audio-decoders/flac) stops or skips silently on damage, so when
// it returns fewer samples than STREAMINFO promises, `diagnoseShortFlac` says whether the file was cut
// (TRUNCATED) or damaged inside (DECODE_FAILED).

export interface StreamInfo {
  minBlockSize: number;
  maxBlockSize: number;
  maxFrameSize: number;
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 0 means "unknown" in FLAC. */
  totalSamples: number;
}

export type FlacLayout =
  { ok: true; info: StreamInfo; audioStart: number } | { ok: false; reason: 'cut' | 'bad'; detail: string };

/** Reads the metadata blocks of a stream whose "fLaC" marker is at `at`. */
export function readFlacLayout(b: Uint8Array, at: number): FlacLayout {
  let p = at + 4;
  let info: StreamInfo | null = null;
  for (;;) {
    if (p + 4 > b.length) return { ok: false, reason: 'cut', detail: 'the file ends inside the metadata blocks' };
    const last = (b[p] & 0x80) !== 0;
    const type = b[p] & 0x7f;
    const len = (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
    if (p + 4 + len > b.length) return { ok: false, reason: 'cut', detail: 'the file ends inside the metadata blocks' };
    if (type === 0) {
      if (len < 34) return { ok: false, reason: 'bad', detail: 'the STREAMINFO block is too short' };
      info = parseStreamInfo(b, p + 4);
    }
    p += 4 + len;
    if (last) break;
  }
  if (!info) return { ok: false, reason: 'bad', detail: 'there is no STREAMINFO block' };
  if (info.sampleRate === 0) return { ok: false, reason: 'bad', detail: 'STREAMINFO gives a sample rate of 0' };
  return { ok: true, info, audioStart: p };
}

function parseStreamInfo(b: Uint8Array, s: number): StreamInfo {
  const u16 = (o: number) => (b[s + o] << 8) | b[s + o + 1];
  const u24 = (o: number) => (b[s + o] << 16) | (b[s + o + 1] << 8) | b[s + o + 2];
  const sampleRate = (b[s + 10] << 12) | (b[s + 11] << 4) | (b[s + 12] >> 4);
  const channels = ((b[s + 12] >> 1) & 7) + 1;
  const bitsPerSample = (((b[s + 12] & 1) << 4) | (b[s + 13] >> 4)) + 1;
  const totalSamples =
    (b[s + 13] & 0x0f) * 2 ** 32 + ((b[s + 14] << 24) >>> 0) + (b[s + 15] << 16) + (b[s + 16] << 8) + b[s + 17];
  return {
    minBlockSize: u16(0),
    maxBlockSize: u16(2),
    maxFrameSize: u24(7),
    sampleRate,
    channels,
    bitsPerSample,
    totalSamples,
  };
}

/** Serialises STREAMINFO (34 bytes) — the writer patches the final one in at close. */
export function encodeStreamInfo(i: StreamInfo & { minFrameSize: number; md5: Uint8Array }): Uint8Array {
  const b = new Uint8Array(34);
  b[0] = i.minBlockSize >> 8;
  b[1] = i.minBlockSize & 0xff;
  b[2] = i.maxBlockSize >> 8;
  b[3] = i.maxBlockSize & 0xff;
  b[4] = (i.minFrameSize >> 16) & 0xff;
  b[5] = (i.minFrameSize >> 8) & 0xff;
  b[6] = i.minFrameSize & 0xff;
  b[7] = (i.maxFrameSize >> 16) & 0xff;
  b[8] = (i.maxFrameSize >> 8) & 0xff;
  b[9] = i.maxFrameSize & 0xff;
  b[10] = (i.sampleRate >> 12) & 0xff;
  b[11] = (i.sampleRate >> 4) & 0xff;
  b[12] = ((i.sampleRate & 0x0f) << 4) | ((i.channels - 1) << 1) | (((i.bitsPerSample - 1) >> 4) & 1);
  const hi = Math.floor(i.totalSamples / 2 ** 32) & 0x0f;
  const lo = i.totalSamples >>> 0;
  b[13] = (((i.bitsPerSample - 1) & 0x0f) << 4) | hi;
  b[14] = lo >>> 24;
  b[15] = (lo >> 16) & 0xff;
  b[16] = (lo >> 8) & 0xff;
  b[17] = lo & 0xff;
  b.set(i.md5.subarray(0, 16), 18);
  return b;
}

const CRC8 = table(0x07, 8);
const CRC16 = table(0x8005, 16);

function table(poly: number, bits: 8 | 16): Uint16Array {
  const t = new Uint16Array(256);
  const top = 1 << (bits - 1);
  const mask = (1 << bits) - 1;
  for (let i = 0; i < 256; i++) {
    let r = i << (bits - 8);
    for (let k = 0; k < 8; k++) r = r & top ? ((r << 1) ^ poly) & mask : (r << 1) & mask;
    t[i] = r;
  }
  return t;
}

function crc8(b: Uint8Array, from: number, to: number): number {
  let c = 0;
  for (let i = from; i < to; i++) c = CRC8[c ^ b[i]];
  return c;
}

function crc16(b: Uint8Array, from: number, to: number): number {
  let c = 0;
  for (let i = from; i < to; i++) c = ((c << 8) & 0xffff) ^ CRC16[(c >> 8) ^ b[i]];
  return c;
}

interface FrameHeader {
  firstSample: number;
  blockSize: number;
}

/** Parses a frame header at `at` (checked by its CRC-8 and against STREAMINFO), or null. */
function parseFrameHeader(b: Uint8Array, at: number, info: StreamInfo): FrameHeader | null {
  if (at + 6 > b.length || b[at] !== 0xff || (b[at + 1] & 0xfe) !== 0xf8) return null;
  const variable = (b[at + 1] & 1) === 1;
  const bsCode = b[at + 2] >> 4;
  const srCode = b[at + 2] & 0x0f;
  if (bsCode === 0 || srCode === 15 || b[at + 3] >> 4 >= 11 || (b[at + 3] & 1) !== 0) return null;
  let p = at + 4;
  // UTF-8-style coded frame or sample number.
  const lead = b[p];
  let extra = 0;
  let value: number;
  if (lead < 0x80) value = lead;
  else if (lead >= 0xc0 && lead < 0xfe) {
    extra = lead >= 0xfc ? 5 : lead >= 0xf8 ? 4 : lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
    value = lead & (0x3f >> extra);
    for (let i = 1; i <= extra; i++) {
      if (p + i >= b.length || (b[p + i] & 0xc0) !== 0x80) return null;
      value = value * 64 + (b[p + i] & 0x3f);
    }
  } else if (lead === 0xfe) {
    extra = 6;
    value = 0;
    for (let i = 1; i <= extra; i++) {
      if (p + i >= b.length || (b[p + i] & 0xc0) !== 0x80) return null;
      value = value * 64 + (b[p + i] & 0x3f);
    }
  } else return null;
  p += 1 + extra;
  let blockSize: number;
  if (bsCode === 1) blockSize = 192;
  else if (bsCode <= 5) blockSize = 576 << (bsCode - 2);
  else if (bsCode === 6) blockSize = b[p++] + 1;
  else if (bsCode === 7) {
    blockSize = ((b[p] << 8) | b[p + 1]) + 1;
    p += 2;
  } else blockSize = 256 << (bsCode - 8);
  if (srCode === 12) p += 1;
  else if (srCode === 13 || srCode === 14) p += 2;
  if (p >= b.length || crc8(b, at, p) !== b[p]) return null;
  if (info.maxBlockSize && blockSize > info.maxBlockSize) return null;
  const firstSample = variable ? value : value * (info.maxBlockSize || blockSize);
  if (info.totalSamples && firstSample >= info.totalSamples) return null;
  return { firstSample, blockSize };
}

/**
 * Called when the decoder returned fewer samples than STREAMINFO promises. Looks at the last frame in the
 * file: if it ends before the promised sample count, or is itself cut (its CRC-16 fails), the file was
 * truncated; if the file ends with a whole final frame, frames in the middle were damaged.
 */
export function diagnoseShortFlac(
  b: Uint8Array,
  audioStart: number,
  info: StreamInfo,
): { cut: boolean; detail: string } {
  let end = b.length;
  if (end - 128 >= audioStart && b[end - 128] === 0x54 && b[end - 127] === 0x41 && b[end - 126] === 0x47) end -= 128;
  const window = Math.max(2 * (info.maxFrameSize || 0), 1 << 20);
  for (let at = end - 2; at >= Math.max(audioStart, end - window); at--) {
    const h = parseFrameHeader(b, at, info);
    if (!h) continue;
    const reaches = h.firstSample + h.blockSize;
    if (reaches < info.totalSamples) {
      return {
        cut: true,
        detail: `the file ends at sample ${reaches} of the ${info.totalSamples} its header promises`,
      };
    }
    const stored = (b[end - 2] << 8) | b[end - 1];
    if (crc16(b, at, end - 2) !== stored) return { cut: true, detail: 'the file ends inside its last frame' };
    return { cut: false, detail: 'frames in the middle of the file are damaged' };
  }
  if (audioStart >= end)
    return { cut: true, detail: `it holds the header but none of the ${info.totalSamples} samples it promises` };
  return { cut: false, detail: 'no valid frame was found near the end of the file' };
}
