// AIFF and AIFF-C reader (what DAWs and Apple tools export). Walks the chunks with positional reads like the WAV
// reader and converts the SSND samples in slices (pcm-slices.ts). AIFF stores big-endian two's-complement PCM;
// AIFF-C names its sample coding in COMM: big- or little-endian integers ('NONE', 'twos', 'sowt', 'in24', 'in32',
// '23ni', '42ni', 'raw '), or IEEE floats ('fl32', 'fl64'). Compressed AIFF-C codings (µ-law, IMA, MACE, …) are
// refused by name. "Truncated" means COMM promises more frames than the SSND chunk holds.
import type { FileHandle } from 'node:fs/promises';
import { audioError, printable } from './audio-error.ts';
import { pcmPieces, readAt, type PcmLayout } from './pcm-slices.ts';
import type { PieceStream } from './pieces.ts';

interface AiffCommon {
  channels: number;
  frames: number;
  bitsPerSample: number;
  sampleRate: number;
  compression: string;
}

/** AIFF-C codings stored as plain samples: their byte order and encoding (the width comes from COMM's bits). */
const PCM_CODINGS: Record<string, { bigEndian: boolean; encoding: PcmLayout['encoding']; bytes?: number }> = {
  NONE: { bigEndian: true, encoding: 'int' },
  twos: { bigEndian: true, encoding: 'int' },
  sowt: { bigEndian: false, encoding: 'int' },
  in24: { bigEndian: true, encoding: 'int', bytes: 3 },
  in32: { bigEndian: true, encoding: 'int', bytes: 4 },
  '23ni': { bigEndian: false, encoding: 'int', bytes: 3 },
  '42ni': { bigEndian: false, encoding: 'int', bytes: 4 },
  'raw ': { bigEndian: true, encoding: 'uint', bytes: 1 },
  fl32: { bigEndian: true, encoding: 'float', bytes: 4 },
  FL32: { bigEndian: true, encoding: 'float', bytes: 4 },
  fl64: { bigEndian: true, encoding: 'float', bytes: 8 },
  FL64: { bigEndian: true, encoding: 'float', bytes: 8 },
};

const COMPRESSED_NAMES: Record<string, string> = {
  ulaw: 'µ-law',
  ULAW: 'µ-law',
  alaw: 'A-law',
  ALAW: 'A-law',
  ima4: 'IMA ADPCM',
  MAC3: 'MACE 3:1',
  MAC6: 'MACE 6:1',
  'GSM ': 'GSM 6.10',
  sdx2: 'SDX2',
  QDM2: 'QDesign Music 2',
  Qclp: 'Qualcomm PureVoice',
};

/** Real files hold a handful of chunks; walking a million empty ones would only cost time. */
const MAX_CHUNKS = 10_000;
/** The highest rate anyone records at is 768 kHz; a COMM that says more is damaged. */
const MAX_RATE = 10_000_000;

/** The 80-bit IEEE 754 extended float AIFF uses for the sample rate. */
export function readExtended80(b: Buffer, at: number): number {
  const sign = b[at] & 0x80 ? -1 : 1;
  const exponent = ((b[at] & 0x7f) << 8) | b[at + 1];
  const hi = b.readUInt32BE(at + 2);
  const lo = b.readUInt32BE(at + 6);
  if (exponent === 0 && hi === 0 && lo === 0) return 0;
  if (exponent === 0x7fff) return NaN;
  return sign * (hi * 2 ** -31 + lo * 2 ** -63) * 2 ** (exponent - 16383);
}

/** The AIFF's samples a slice at a time; the file handle stays the caller's. */
export async function readAiff(fh: FileHandle, path: string, fileSize: number): Promise<PieceStream> {
  const head = await readAt(fh, 0, 12);
  const aifc = head.toString('latin1', 8, 12) === 'AIFC';
  // A FORM size of 0 is what a writer streaming to a pipe leaves: the chunks run to the end of the file.
  const declared = head.readUInt32BE(4);
  const formEnd = declared === 0 ? fileSize : Math.min(fileSize, 8 + declared);
  let common: AiffCommon | null = null;
  let sound: { at: number; bytes: number } | null = null;
  let chunks = 0;
  for (let at = 12; at + 8 <= formEnd;) {
    if (++chunks > MAX_CHUNKS)
      throw audioError('DECODE_FAILED', path, `the AIFF file holds more than ${MAX_CHUNKS} chunks; it is damaged`);
    const h = await readAt(fh, at, 8);
    const id = h.toString('latin1', 0, 4);
    const size = h.readUInt32BE(4);
    const bodyAt = at + 8;
    if (id === 'COMM') {
      if (bodyAt + Math.min(size, 22) > fileSize)
        throw audioError('TRUNCATED', path, 'the file ends inside the AIFF COMM chunk');
      common = parseCommon(await readAt(fh, bodyAt, Math.min(size, 64)), aifc, path);
    } else if (id === 'SSND') {
      if (bodyAt + 8 > fileSize) throw audioError('TRUNCATED', path, 'the file ends inside the AIFF SSND chunk header');
      const offset = (await readAt(fh, bodyAt, 8)).readUInt32BE(0);
      sound = { at: bodyAt + 8 + offset, bytes: Math.max(0, size - 8 - offset) };
      if (declared === 0) break; // streamed: the sound data runs to the end of the file, and nothing follows it
    }
    at = bodyAt + size + (size % 2);
  }
  if (!common)
    throw audioError(
      fileSize < 64 ? 'TRUNCATED' : 'DECODE_FAILED',
      path,
      'the AIFF file has no COMM chunk, so its sample format is unknown',
    );
  const notices: string[] = [];
  const streamed = declared === 0 && common.frames === 0 && sound !== null;
  if (streamed)
    notices.push('the AIFF header does not give the audio length (streamed file); read to the end of the file');
  else if (common.frames === 0)
    throw audioError('ZERO_LENGTH_AUDIO', path, 'the AIFF file is valid but holds no audio frames');
  if (!sound)
    throw audioError(
      'TRUNCATED',
      path,
      `the AIFF file promises ${common.frames} frames but has no SSND (sound data) chunk`,
    );

  const layout = sampleLayout(common, path);
  const blockAlign = layout.bytes * layout.channels;
  const available = Math.max(0, streamed ? fileSize - sound.at : Math.min(sound.bytes, fileSize - sound.at));
  if (streamed) common.frames = Math.floor(available / blockAlign);
  if (common.frames === 0)
    throw audioError('ZERO_LENGTH_AUDIO', path, 'the AIFF file is valid but holds no audio frames');
  const frames = Math.min(common.frames, Math.floor(available / blockAlign));
  if (frames < common.frames) {
    const secs = (n: number) => (n / common!.sampleRate).toFixed(2);
    throw audioError(
      'TRUNCATED',
      path,
      `the AIFF header promises ${common.frames} frames (${secs(common.frames)} s) but the file holds ${frames} (${secs(frames)} s)`,
    );
  }
  return {
    sampleRate: common.sampleRate,
    notices,
    frames,
    pieces: pcmPieces(fh, path, sound.at, frames, layout, notices),
  };
}

function parseCommon(b: Buffer, aifc: boolean, path: string): AiffCommon {
  if (b.length < 18) throw audioError('DECODE_FAILED', path, 'the AIFF COMM chunk is too short');
  const channels = b.readUInt16BE(0);
  const frames = b.readUInt32BE(2);
  const bitsPerSample = b.readUInt16BE(6);
  const sampleRate = readExtended80(b, 8);
  const compression = aifc && b.length >= 22 ? b.toString('latin1', 18, 22) : 'NONE';
  if (channels === 0 || !(sampleRate >= 1) || !(sampleRate <= MAX_RATE)) {
    throw audioError('DECODE_FAILED', path, `the AIFF COMM chunk is invalid (${channels} channels, ${sampleRate} Hz)`);
  }
  return { channels, frames, bitsPerSample, sampleRate: Math.round(sampleRate), compression };
}

function sampleLayout(c: AiffCommon, path: string): PcmLayout {
  const coding = PCM_CODINGS[c.compression];
  if (!coding) {
    const name = COMPRESSED_NAMES[c.compression] ?? `the "${printable(c.compression).trim()}" coding`;
    throw audioError('UNSUPPORTED_CODEC', path, `the AIFF-C file holds ${name}; only PCM and float AIFF are supported`);
  }
  const bytes = coding.bytes ?? Math.ceil(c.bitsPerSample / 8);
  if (coding.encoding !== 'float' && (bytes < 1 || bytes > 4 || c.bitsPerSample > 32 || c.bitsPerSample < 1)) {
    throw audioError(
      'UNSUPPORTED_CODEC',
      path,
      `the AIFF file holds ${c.bitsPerSample}-bit samples, which is not supported`,
    );
  }
  return { channels: c.channels, bytes, encoding: coding.encoding, bigEndian: coding.bigEndian };
}
