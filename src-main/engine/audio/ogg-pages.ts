// Ogg pages (RFC 3533): enough to name the codec inside an Ogg file by its first packet and to check that the
// stream is whole — every page complete with a good CRC, and the last page marked end-of-stream. The wasm
// decoders skip damaged pages without telling us, so this check is what turns damage into an error.

export type OggCodec = 'vorbis' | 'opus' | 'flac' | 'speex' | 'theora' | 'unknown';

export interface OggWalk {
  codec: OggCodec;
  pages: number;
  /** Pages whose CRC does not match, and the byte offset of the first one. */
  badCrcPages: number;
  firstBadCrcAt: number;
  /** The last page header promises more bytes than the file holds. */
  cutMidPage: boolean;
  /** The last whole page carries the end-of-stream flag. */
  endOfStream: boolean;
  /** Bytes that are not part of any page (skipped while looking for the next "OggS"). */
  strayBytes: number;
  /** Granule position of the last whole page of the first logical stream (codec-specific sample clock). */
  lastGranule: bigint;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, initial 0) over `b`. */
export function oggCrc(b: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < b.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b[i]) & 0xff]) >>> 0;
  return crc >>> 0;
}

export function isOggPage(b: Uint8Array, at: number): boolean {
  return (
    at + 27 <= b.length &&
    b[at] === 0x4f &&
    b[at + 1] === 0x67 &&
    b[at + 2] === 0x67 &&
    b[at + 3] === 0x53 &&
    b[at + 4] === 0
  );
}

/** Byte length of the page at `at` (header + body), from its segment table; null when the header is cut. */
export function oggPageLength(b: Uint8Array, at: number): number | null {
  const segments = b[at + 26];
  if (at + 27 + segments > b.length) return null;
  let body = 0;
  for (let i = 0; i < segments; i++) body += b[at + 27 + i];
  return 27 + segments + body;
}

/** Recomputes and stores the CRC of the page at `at` (used by fixtures that edit pages). */
export function resealOggPage(b: Uint8Array, at: number): void {
  const len = oggPageLength(b, at);
  if (len === null) throw new Error('page header is cut');
  const view = new DataView(b.buffer, b.byteOffset + at, len);
  view.setUint32(22, 0, true);
  view.setUint32(22, oggCrc(b.subarray(at, at + len)), true);
}

function codecOfFirstPacket(b: Uint8Array, at: number): OggCodec {
  const p = at + 27 + b[at + 26];
  const text = (o: number, n: number) => String.fromCharCode(...b.subarray(p + o, p + o + n));
  if (text(0, 8) === 'OpusHead') return 'opus';
  if (b[p] === 1 && text(1, 6) === 'vorbis') return 'vorbis';
  if (b[p] === 0x7f && text(1, 4) === 'FLAC') return 'flac';
  if (text(0, 8) === 'Speex   ') return 'speex';
  if (b[p] === 0x80 && text(1, 6) === 'theora') return 'theora';
  return 'unknown';
}

/** Walks every page of the file. */
export function walkOggPages(b: Uint8Array): OggWalk {
  const walk: OggWalk = {
    codec: isOggPage(b, 0) ? codecOfFirstPacket(b, 0) : 'unknown',
    pages: 0,
    badCrcPages: 0,
    firstBadCrcAt: -1,
    cutMidPage: false,
    endOfStream: false,
    strayBytes: 0,
    lastGranule: 0n,
  };
  const firstSerial = isOggPage(b, 0) ? new DataView(b.buffer, b.byteOffset).getUint32(14, true) : -1;
  let at = 0;
  while (at < b.length) {
    if (!isOggPage(b, at)) {
      const next = indexOfOggS(b, at + 1);
      walk.strayBytes += (next < 0 ? b.length : next) - at;
      if (next < 0) break;
      at = next;
      continue;
    }
    const len = oggPageLength(b, at);
    if (len === null || at + len > b.length) {
      walk.cutMidPage = true;
      break;
    }
    const page = b.subarray(at, at + len);
    const view = new DataView(b.buffer, b.byteOffset + at, len);
    const stored = view.getUint32(22, true);
    const copy = page.slice();
    new DataView(copy.buffer).setUint32(22, 0, true);
    if (oggCrc(copy) !== stored) {
      walk.badCrcPages++;
      if (walk.firstBadCrcAt < 0) walk.firstBadCrcAt = at;
    }
    walk.pages++;
    walk.endOfStream = (page[5] & 0x04) !== 0;
    const granule = view.getBigInt64(6, true);
    if (view.getUint32(14, true) === firstSerial && granule >= 0n) walk.lastGranule = granule;
    at += len;
  }
  return walk;
}

function indexOfOggS(b: Uint8Array, from: number): number {
  for (let i = from; i + 4 <= b.length; i++) {
    if (b[i] === 0x4f && b[i + 1] === 0x67 && b[i + 2] === 0x67 && b[i + 3] === 0x53) return i;
  }
  return -1;
}
