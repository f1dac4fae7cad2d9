// Names a file's container from its first bytes — never from its extension, because people rename files and
// servers save error pages under the name of the song they failed to send.
import { findMpegStart, id3v2Size, isAdtsHeader } from './mpeg-frames.ts';

export type Sniffed =
  | { kind: 'wav' }
  | { kind: 'flac' }
  | { kind: 'aiff' }
  | { kind: 'ogg' }
  /** An ID3v2 tag: MP3 most often, but FLAC or AAC may follow it; the whole file decides (decode.ts). */
  | { kind: 'id3' }
  | { kind: 'mpeg' }
  /** MP4, M4A, MOV (ISO base media boxes). */
  | { kind: 'mp4' }
  | { kind: 'matroska' }
  /** Raw AAC in ADTS frames. */
  | { kind: 'adts' }
  | { kind: 'unsupported'; codec: string }
  | { kind: 'not-audio'; looksLike: string };

const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

const W64_RIFF = [0x72, 0x69, 0x66, 0x66, 0x2e, 0x91, 0xcf, 0x11, 0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00];

/** `head` is the start of the file (64 KiB or the whole file if shorter). */
export function sniffContainer(head: Uint8Array): Sniffed {
  const tag4 = ascii(head, 0, 4);
  if ((tag4 === 'RIFF' || tag4 === 'RF64') && ascii(head, 8, 4) === 'WAVE') return { kind: 'wav' };
  if (W64_RIFF.every((v, i) => head[i] === v)) return { kind: 'wav' };
  if (tag4 === 'RIFX') return { kind: 'unsupported', codec: 'big-endian WAV (RIFX)' };
  if (tag4 === 'RIFF' && head.length >= 12) {
    const type = ascii(head, 8, 4);
    if (type === 'AVI ') return { kind: 'unsupported', codec: 'AVI video' };
    return { kind: 'not-audio', looksLike: `a RIFF file of type "${type.trim()}", not WAVE` };
  }
  if (tag4 === 'fLaC') return { kind: 'flac' };
  if (tag4 === 'FORM' && /^AIF[FC]$/.test(ascii(head, 8, 4))) return { kind: 'aiff' };
  if (tag4 === 'OggS') return { kind: 'ogg' };
  if (id3v2Size(head, 0) > 0) return { kind: 'id3' };
  const iso = isoMediaKind(head);
  if (iso) return iso;
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return { kind: 'matroska' };
  const other = unsupportedContainer(head);
  if (other) return { kind: 'unsupported', codec: other };
  if (isAdtsHeader(head, 0)) return { kind: 'adts' };
  if (findMpegStart(head, 0, 8192) >= 0) return { kind: 'mpeg' };
  return { kind: 'not-audio', looksLike: describeNonAudio(head) };
}

const IMAGE_BRANDS = new Set(['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1', 'msf1', 'avif', 'avis']);
// QuickTime files from before the ftyp box start straight with one of these.
const LEADING_QT_BOXES = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);

function isoMediaKind(b: Uint8Array): Sniffed | null {
  const size = ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
  const type = ascii(b, 4, 4);
  if (type === 'ftyp') {
    const brand = ascii(b, 8, 4);
    if (IMAGE_BRANDS.has(brand)) return { kind: 'not-audio', looksLike: `a HEIF/AVIF image (brand "${brand}")` };
    return { kind: 'mp4' };
  }
  return LEADING_QT_BOXES.has(type) && (size >= 8 || size === 1) ? { kind: 'mp4' } : null;
}

function unsupportedContainer(b: Uint8Array): string | null {
  if (b[0] === 0x30 && b[1] === 0x26 && b[2] === 0xb2 && b[3] === 0x75) return 'WMA/ASF';
  const magic: Record<string, string> = {
    wvpk: 'WavPack',
    'MAC ': "Monkey's Audio (APE)",
    '.snd': 'Sun/NeXT AU',
    caff: 'Core Audio Format (CAF)',
    TTA1: 'TTA',
    MPCK: 'Musepack',
    '#!AM': 'AMR',
    DSD: 'DSD (DSF)',
    FRM8: 'DSDIFF',
  };
  return magic[ascii(b, 0, 4)] ?? magic[ascii(b, 0, 3)] ?? null;
}

function describeNonAudio(b: Uint8Array): string {
  const start = ascii(b, 0, 16);
  if (b[0] === 0x89 && start.slice(1, 4) === 'PNG') return 'a PNG image';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'a JPEG image';
  if (start.startsWith('GIF8')) return 'a GIF image';
  if (start.startsWith('%PDF')) return 'a PDF document';
  if (start.startsWith('PK\x03\x04')) return 'a ZIP archive';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, 512)).trimStart().toLowerCase();
  if (text.startsWith('<!doctype html') || text.startsWith('<html') || /<(head|body|title)\b/.test(text))
    return 'a web page (HTML)';
  if (text.startsWith('<?xml') || text.startsWith('{') || text.startsWith('[')) return 'text (XML/JSON)';
  let printable = 0;
  const n = Math.min(b.length, 512);
  for (let i = 0; i < n; i++)
    if ((b[i] >= 0x20 && b[i] < 0x7f) || b[i] === 9 || b[i] === 10 || b[i] === 13) printable++;
  if (n > 0 && printable / n > 0.95) return 'text';
  return 'unrecognised bytes';
}
