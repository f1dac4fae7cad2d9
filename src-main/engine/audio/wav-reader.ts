// WAV (RIFF, RF64, Sony Wave64) reader. Walks the chunks with positional reads and converts the data chunk
// in 4 MiB slices straight into planar Float32Arrays, handed over one slice at a time — a file never sits in
// memory twice (a whole-file parser would hold the bytes, then float64 copies), and a caller that writes the
// slices on holds one. "Truncated" here means the data chunk's size promises more bytes than the file holds.
import type { FileHandle } from 'node:fs/promises';
import { audioError } from './audio-error.ts';
import { pcmPieces, readAt } from './pcm-slices.ts';
import type { PieceStream } from './pieces.ts';

interface WavFormat {
  tag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

// Format tags people meet in the wild, so the error names the codec rather than a number.
const CODEC_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'µ-law',
  0x0011: 'IMA ADPCM',
  0x0016: 'ITU G.723 ADPCM',
  0x0031: 'GSM 6.10',
  0x0040: 'G.721 ADPCM',
  0x0045: 'G.726 ADPCM',
  0x0050: 'MPEG audio',
  0x0055: 'MP3',
  0x0092: 'Dolby AC-3',
  0x00ff: 'AAC',
  0x0161: 'WMA',
  0x0162: 'WMA Pro',
  0x0163: 'WMA Lossless',
  0x1610: 'AAC',
  0x2000: 'Dolby AC-3',
  0xf1ac: 'FLAC',
};

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const UNKNOWN_SIZE = 0xffffffff;

export interface Chunk {
  id: string;
  bodyAt: number;
  size: number;
}

/** Iterates the top-level chunks (RIFF/RF64: 8-byte headers, even-aligned; W64: GUID + 64-bit size, 8-aligned). */
export async function* chunks(fh: FileHandle, fileSize: number, w64: boolean): AsyncGenerator<Chunk> {
  let at = w64 ? 40 : 12;
  const headerLen = w64 ? 24 : 8;
  while (at + headerLen <= fileSize) {
    const h = await readAt(fh, at, headerLen);
    const id = h.toString('latin1', 0, 4);
    const size = w64 ? Number(h.readBigUInt64LE(16)) - 24 : h.readUInt32LE(4);
    yield { id, bodyAt: at + headerLen, size };
    if (size < 0) return;
    at += headerLen + size + (w64 ? (8 - (size % 8)) % 8 : size % 2);
  }
}

/** The WAV's samples a slice at a time; the file handle stays the caller's. */
export async function readWav(fh: FileHandle, path: string, fileSize: number): Promise<PieceStream> {
  const head = await readAt(fh, 0, 16);
  const w64 = head.toString('latin1', 0, 4) === 'riff';
  const rf64 = head.toString('latin1', 0, 4) === 'RF64';
  const notices: string[] = [];
  let format: WavFormat | null = null;
  let data: { at: number; size: number | null } | null = null;
  let rf64DataSize: number | null = null;

  for await (const c of chunks(fh, fileSize, w64)) {
    if (c.id === 'ds64') rf64DataSize = Number((await readAt(fh, c.bodyAt, 28)).readBigUInt64LE(8));
    else if (c.id === 'fmt ' && c.bodyAt + c.size > fileSize)
      throw audioError('TRUNCATED', path, 'the file ends inside the WAV fmt chunk');
    else if (c.id === 'fmt ') format = parseFmt(await readAt(fh, c.bodyAt, Math.min(c.size, 40)), path);
    else if (c.id === 'data') {
      let size: number | null = c.size;
      if (rf64 && c.size === UNKNOWN_SIZE) size = rf64DataSize;
      else if (!w64 && c.size === UNKNOWN_SIZE) size = null; // written to a pipe: the data runs to the end of the file
      data = { at: c.bodyAt, size };
      if (format) break;
    }
  }
  if (!format) {
    throw audioError(
      fileSize < 64 ? 'TRUNCATED' : 'DECODE_FAILED',
      path,
      'the WAV file has no fmt chunk, so its sample format is unknown',
    );
  }
  if (!data) throw audioError('TRUNCATED', path, 'the WAV file ends before its data chunk');

  const available = fileSize - data.at;
  let dataBytes: number;
  if (data.size === null) {
    dataBytes = available;
    notices.push('the WAV header does not give the audio length (streamed file); read to the end of the file');
  } else if (data.size > available) {
    const secs = (n: number) => (n / format!.blockAlign / format!.sampleRate).toFixed(2);
    throw audioError(
      'TRUNCATED',
      path,
      `the WAV header promises ${data.size} bytes of audio (${secs(data.size)} s) but the file holds ${Math.max(0, available)} (${secs(Math.max(0, available))} s)`,
    );
  } else dataBytes = data.size;

  const frames = Math.floor(dataBytes / format.blockAlign);
  if (dataBytes % format.blockAlign !== 0)
    notices.push(`ignored ${dataBytes % format.blockAlign} stray bytes at the end of the WAV data`);
  if (frames === 0) throw audioError('ZERO_LENGTH_AUDIO', path, 'the WAV file is valid but holds no audio frames');

  const layout = {
    channels: format.channels,
    bytes: format.blockAlign / format.channels,
    bigEndian: false,
    encoding: format.tag === WAVE_FORMAT_IEEE_FLOAT ? 'float' : format.blockAlign === format.channels ? 'uint' : 'int',
  } as const;
  return {
    sampleRate: format.sampleRate,
    notices,
    frames,
    pieces: pcmPieces(fh, path, data.at, frames, layout, notices),
  };
}

function parseFmt(b: Buffer, path: string): WavFormat {
  if (b.length < 16) throw audioError('DECODE_FAILED', path, 'the WAV fmt chunk is too short');
  let tag = b.readUInt16LE(0);
  const channels = b.readUInt16LE(2);
  const sampleRate = b.readUInt32LE(4);
  const blockAlign = b.readUInt16LE(12);
  const bitsPerSample = b.readUInt16LE(14);
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (b.length < 26) throw audioError('DECODE_FAILED', path, 'the WAVE_FORMAT_EXTENSIBLE fmt chunk is too short');
    tag = b.readUInt16LE(24); // first two bytes of the SubFormat GUID carry the real format tag
  }
  if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_IEEE_FLOAT) {
    const name = CODEC_NAMES[tag]
      ? `${CODEC_NAMES[tag]} (format tag 0x${tag.toString(16).padStart(4, '0')})`
      : `format tag 0x${tag.toString(16).padStart(4, '0')}`;
    throw audioError('UNSUPPORTED_CODEC', path, `the WAV file holds ${name}; only PCM and float WAV are supported`);
  }
  if (channels === 0 || sampleRate === 0 || blockAlign === 0 || blockAlign % channels !== 0) {
    throw audioError(
      'DECODE_FAILED',
      path,
      `the WAV fmt chunk is invalid (${channels} channels, ${sampleRate} Hz, block align ${blockAlign})`,
    );
  }
  const bytes = blockAlign / channels;
  const ok = tag === WAVE_FORMAT_IEEE_FLOAT ? bytes === 4 || bytes === 8 : bytes >= 1 && bytes <= 4;
  if (!ok || bitsPerSample > bytes * 8) {
    throw audioError(
      'UNSUPPORTED_CODEC',
      path,
      `the WAV file holds ${bitsPerSample}-bit ${tag === 3 ? 'float' : 'PCM'} samples in ${bytes}-byte slots, which is not supported`,
    );
  }
  return { tag, channels, sampleRate, blockAlign, bitsPerSample };
}
