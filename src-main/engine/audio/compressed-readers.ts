// FLAC, MP3, Ogg Vorbis and Ogg Opus through the wasm decoders. The decoders carry on past damage without
// saying so, so each reader first checks the stream's own structure (flac-stream.ts, mpeg-frames.ts,
// ogg-pages.ts) and holds the decoded length to what the headers promise. What "truncated" means per codec:
//  - FLAC: fewer samples than STREAMINFO promises and the last frame ends early or is itself cut.
//  - MP3: the last frame header promises more bytes than remain, or a Xing/Info/VBRI header promises
//    more frames than the file holds.
//  - Ogg: the last page is cut, or the stream ends without its end-of-stream page.
// Damage in the middle (lost FLAC frames, junk between MPEG frames, Ogg pages with a bad CRC) is DECODE_FAILED.
// Each reader hands out the decoded audio a piece at a time (pieces.ts); the checks that need the whole decode
// (length, decoder errors) run after the last piece, so they end the stream with their error. FLAC reads its bytes
// from the file as the decoder takes them; MP3 and Ogg hold the file's bytes, which their frame and page walks check
// before decoding.
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { MPEGDecoder } from 'mpg123-decoder';
import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import { audioError } from './audio-error.ts';
import { diagnoseShortFlac, readFlacLayout, type FlacLayout } from './flac-stream.ts';
import {
  findMpegStart,
  gaplessSamples,
  parseMpegHeader,
  plainStreamSamples,
  promisedFrames,
  walkMpegFrames,
} from './mpeg-frames.ts';
import { walkOggPages } from './ogg-pages.ts';
import type { PieceStream } from './pieces.ts';
import type { PcmAudio } from '../types.ts';

export interface CompressedAudio extends PcmAudio {
  notices: string[];
}

/** Bytes of a file, read where needed: the file itself, or one already in memory. */
export interface ByteSource {
  readonly size: number;
  /** Up to `n` bytes at `at` (fewer at the end). */
  read(at: number, n: number): Promise<Uint8Array>;
}

export function bytesSource(b: Uint8Array): ByteSource {
  return { size: b.length, read: async (at, n) => b.subarray(at, at + n) };
}

interface DecodedPiece {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  bitDepth?: number;
  errors: { message: string }[];
}

const FEED_BYTES = 1 << 20;
const FIRST_FEED_BYTES = 1 << 17;

/** What the decoder said while its pieces went by, checked once they have all come (end()). */
class DecodeTally {
  total = 0;
  sampleRate = 0;
  bitDepth = 0;
  nonFinite = 0;
  errors: string[] = [];

  /** The piece's samples as the caller's own arrays, non-finite ones made silence; null for an empty piece. */
  take(r: DecodedPiece): Float32Array[] | null {
    if (r.errors.length) this.errors.push(...r.errors.map((e) => e.message));
    if (r.samplesDecoded === 0) return null;
    this.sampleRate = r.sampleRate;
    this.bitDepth = r.bitDepth ?? 0;
    this.total += r.samplesDecoded;
    // The decoders may hand out views of wasm memory that the next call overwrites: keep copies.
    return r.channelData.map((c) => {
      const out = c.slice(0, r.samplesDecoded);
      for (let i = 0; i < out.length; i++)
        if (!Number.isFinite(out[i])) {
          out[i] = 0;
          this.nonFinite++;
        }
      return out;
    });
  }

  end(path: string, notices: string[]): void {
    if (this.errors.length) throw audioError('DECODE_FAILED', path, `the decoder reported: ${this.errors[0]}`);
    if (this.total === 0) throw audioError('ZERO_LENGTH_AUDIO', path, 'the stream is valid but holds no audio samples');
    if (this.nonFinite) notices.push(`replaced ${this.nonFinite} NaN/infinite samples with silence`);
  }
}

type StreamDecoder = {
  ready: Promise<void>;
  decode(d: Uint8Array): DecodedPiece | Promise<DecodedPiece>;
  flush?(): Promise<DecodedPiece>;
  free(): void;
};

/**
 * The bytes from `from` to the end: FIRST_FEED_BYTES, then twice as many each time up to FEED_BYTES. The first piece
 * is decoded before anything else can start (1 MB is 26 s of a 320 kbps MP3, 65 s at 128 kbps), and a song read
 * while it is decoded needs only its first seconds, then the next ones.
 */
async function* feed(src: ByteSource, from: number): AsyncGenerator<Uint8Array> {
  for (let at = from, n = FIRST_FEED_BYTES; at < src.size; at += n, n = Math.min(FEED_BYTES, 2 * n))
    yield await src.read(at, n);
}

async function* decodePieces(
  decoder: StreamDecoder,
  bytes: AsyncIterable<Uint8Array>,
  tally: DecodeTally,
): AsyncGenerator<Float32Array[]> {
  try {
    await decoder.ready;
    for await (const b of bytes) {
      const piece = tally.take(await decoder.decode(b));
      if (piece) yield piece;
    }
    const last = decoder.flush ? tally.take(await decoder.flush()) : null;
    if (last) yield last;
  } finally {
    decoder.free();
  }
}

/** A stream whose pieces `make` produces, its rate following what the decoder reports. */
function decodedStream(
  sampleRate: number,
  notices: string[],
  make: (s: PieceStream) => AsyncGenerator<Float32Array[]>,
): PieceStream {
  const stream: PieceStream = { sampleRate, notices, pieces: undefined as unknown as AsyncGenerator<Float32Array[]> };
  stream.pieces = make(stream);
  return stream;
}

/** Two of the largest frames STREAMINFO can declare (24-bit size), an ID3v1 tag and a frame's CRC, with room. */
const FLAC_TAIL_BYTES = 2 * 2 ** 24 + 1024;

/** The metadata blocks, read from the start of the file in growing heads (cover art can make them megabytes). */
async function flacLayout(src: ByteSource, fLaCAt: number): Promise<{ layout: FlacLayout; head: Uint8Array }> {
  for (let n = Math.min(src.size, 1 << 20); ; n = Math.min(src.size, n * 4)) {
    const head = await src.read(0, n);
    const layout = readFlacLayout(head, fLaCAt);
    if (layout.ok || layout.reason !== 'cut' || n >= src.size) return { layout, head };
  }
}

/** FLAC from `src`, the "fLaC" marker at `fLaCAt`; the file's bytes are read as the decoder needs them. */
export async function readFlac(path: string, src: ByteSource, fLaCAt: number): Promise<PieceStream> {
  const { layout } = await flacLayout(src, fLaCAt);
  if (!layout.ok) throw audioError(layout.reason === 'cut' ? 'TRUNCATED' : 'DECODE_FAILED', path, layout.detail);
  const { info, audioStart } = layout;
  if (audioStart >= src.size) {
    if (info.totalSamples === 0)
      throw audioError('ZERO_LENGTH_AUDIO', path, 'the FLAC file is valid but holds no audio frames');
    throw audioError(
      'TRUNCATED',
      path,
      `the FLAC file holds its header but none of the ${info.totalSamples} samples it promises`,
    );
  }
  const notices: string[] = [];
  const promised = info.totalSamples;
  if (promised === 0) notices.push('the FLAC header does not give the length; decoded to the end of the file');
  const stream = decodedStream(info.sampleRate, notices, async function* (stream) {
    const tally = new DecodeTally();
    let given = 0;
    for await (const piece of decodePieces(new FLACDecoder() as unknown as StreamDecoder, feed(src, fLaCAt), tally)) {
      stream.sampleRate = tally.sampleRate;
      rescaleIntegerPcm(piece, tally.bitDepth || info.bitsPerSample);
      // The length STREAMINFO gives is the one handed out (the engine plans the song by it before decoding it).
      const keep = promised > 0 ? Math.min(piece[0].length, promised - given) : piece[0].length;
      given += keep;
      if (keep > 0) yield keep < piece[0].length ? piece.map((c) => c.subarray(0, keep)) : piece;
    }
    if (promised > 0 && tally.total > promised)
      notices.push(`ignored ${tally.total - promised} samples past the ${promised} the FLAC header gives`);
    if (info.totalSamples > 0 && tally.total < info.totalSamples) {
      // The diagnosis looks at the last two largest frames and an ID3v1 tag at most: only the file's end is read.
      const from = Math.max(0, src.size - FLAC_TAIL_BYTES);
      const { cut, detail } = diagnoseShortFlac(
        await src.read(from, src.size - from),
        Math.max(0, audioStart - from),
        info,
      );
      throw audioError(
        cut ? 'TRUNCATED' : 'DECODE_FAILED',
        path,
        `${detail} (decoded ${tally.total} of ${info.totalSamples} samples)`,
      );
    }
    tally.end(path, notices);
  });
  // Given on the stream itself, whose rate the decoder sets as it starts (not on a copy).
  if (promised > 0) stream.frames = promised;
  return stream;
}

/**
 * The FLAC decoder divides by 2^(bits−1) − 1; WAV, ffmpeg and our writers use 2^(bits−1). Recovering the
 * integer and dividing again makes FLAC and WAV of the same PCM decode to identical floats.
 */
function rescaleIntegerPcm(channels: Float32Array[], bits: number): void {
  if (bits < 8 || bits > 24) return;
  const decoderScale = 2 ** (bits - 1) - 1;
  const ourScale = 2 ** (bits - 1);
  for (const c of channels) for (let i = 0; i < c.length; i++) c[i] = Math.round(c[i] * decoderScale) / ourScale;
}

/** MP3 from the whole file `b` (its frames are checked first), decoded a piece at a time. */
export async function readMpeg(path: string, b: Uint8Array, searchFrom: number): Promise<PieceStream> {
  const first = findMpegStart(b, searchFrom, 1 << 16);
  if (first < 0) throw audioError('NOT_AUDIO', path, 'it starts like an MP3 but holds no MPEG audio frames');
  const h = parseMpegHeader(b, first)!;
  const walk = walkMpegFrames(b, first);
  const promised = promisedFrames(b, first);
  const secs = (frames: number) => ((frames * h.samplesPerFrame) / h.sampleRate).toFixed(2);
  if (walk.cutMidFrame)
    throw audioError('TRUNCATED', path, `the file ends in the middle of an MP3 frame, after ${secs(walk.frames)} s`);
  if (walk.damagedBytes > 0) {
    throw audioError(
      'DECODE_FAILED',
      path,
      `${walk.damagedBytes} bytes of damaged data in the MP3 stream (first at byte ${walk.firstDamageAt})`,
    );
  }
  if (promised !== null && walk.frames - 1 < promised) {
    throw audioError(
      'TRUNCATED',
      path,
      `the MP3 header promises ${secs(promised)} s but the file holds ${secs(walk.frames - 1)} s`,
    );
  }
  const notices: string[] = [];
  if (walk.trailingBytes > 0)
    notices.push(`ignored ${walk.trailingBytes} bytes of non-audio data at the end of the MP3`);
  // The length a LAME/ffmpeg header gives, or a stream without such a header (every frame whole), is the one handed
  // out (the engine plans the song by it before decoding it).
  const gapless = gaplessSamples(b, first) ?? plainStreamSamples(b, first, walk);
  const stream = decodedStream(h.sampleRate, notices, async function* (stream) {
    const tally = new DecodeTally();
    const pieces = async function* () {
      for await (const piece of decodePieces(
        new MPEGDecoder() as unknown as StreamDecoder,
        feed(bytesSource(b), 0),
        tally,
      )) {
        stream.sampleRate = tally.sampleRate;
        // mpg123 always hands out two channels; a mono stream's second one is a copy.
        yield h.channels === 1 ? piece.slice(0, 1) : piece;
      }
      tally.end(path, notices);
    };
    yield* gapless === null ? pieces() : heldTo(pieces(), gapless, h.channels, notices, 'MP3');
  });
  // Given on the stream itself, whose rate the decoder sets as it starts (not on a copy).
  if (gapless !== null) stream.frames = gapless;
  return stream;
}

/**
 * Pieces held to the `length` their header gives (the engine plans the song by it before decoding it): cut past it,
 * filled with silence short of it, with a notice either way. Not seen with the encoders measured, where the decoders
 * give exactly that length. The pieces' own checks (DecodeTally.end) come first.
 */
export async function* heldTo(
  pieces: AsyncIterable<Float32Array[]>,
  length: number,
  channels: number,
  notices: string[],
  what: string,
): AsyncGenerator<Float32Array[]> {
  let given = 0;
  let decoded = 0;
  for await (const piece of pieces) {
    decoded += piece[0].length;
    const keep = Math.min(piece[0].length, length - given);
    given += keep;
    if (keep > 0) yield keep < piece[0].length ? piece.map((c) => c.subarray(0, keep)) : piece;
  }
  if (decoded === length) return;
  if (given < length) yield Array.from({ length: channels }, () => new Float32Array(length - given));
  notices.push(
    `the ${what} decoded to ${decoded} samples where its header gives ${length}: ` +
      (decoded < length ? 'the end is filled with silence' : 'the samples past it are left out'),
  );
}

// Vorbis and Opus order 3–8 channels as L C R …, LFE last; WAV (and FLAC) as L R C LFE …. We hand out WAV
// order so that channels.ts has one convention. Index i of the result is channel map[i] of the decoder.
export const VORBIS_TO_WAV: Record<number, number[]> = {
  3: [0, 2, 1],
  5: [0, 2, 1, 3, 4],
  6: [0, 2, 1, 5, 3, 4],
  7: [0, 2, 1, 6, 5, 3, 4],
  8: [0, 2, 1, 7, 5, 6, 3, 4],
};

/** Ogg Vorbis or Opus from the whole file `b` (its pages are checked first), decoded a piece at a time. */
export async function readOgg(path: string, b: Uint8Array): Promise<PieceStream & { codec: 'vorbis' | 'opus' }> {
  const walk = walkOggPages(b);
  if (walk.codec !== 'vorbis' && walk.codec !== 'opus') {
    const name = { flac: 'Ogg FLAC', speex: 'Speex', theora: 'Theora video', unknown: 'an unknown codec' }[walk.codec];
    throw audioError(
      'UNSUPPORTED_CODEC',
      path,
      `the Ogg file holds ${name}; only Vorbis and Opus are supported in Ogg`,
    );
  }
  if (walk.cutMidPage) throw audioError('TRUNCATED', path, `the file ends in the middle of Ogg page ${walk.pages + 1}`);
  if (walk.badCrcPages > 0) {
    throw audioError(
      'DECODE_FAILED',
      path,
      `${walk.badCrcPages} Ogg page(s) are damaged (checksum mismatch; first at byte ${walk.firstBadCrcAt})`,
    );
  }
  if (walk.strayBytes > 0)
    throw audioError('DECODE_FAILED', path, `${walk.strayBytes} bytes of the file are not Ogg pages`);
  if (!walk.endOfStream)
    throw audioError(
      'TRUNCATED',
      path,
      `the Ogg stream stops after ${walk.pages} pages without its end-of-stream page`,
    );
  const decoder = walk.codec === 'opus' ? new OggOpusDecoder() : new OggVorbisDecoder();
  const notices: string[] = [];
  const length = oggSamples(b, walk.codec, walk.lastGranule);
  const channels = oggChannels(b, walk.codec);
  const stream = decodedStream(48000, notices, async function* (stream) {
    const tally = new DecodeTally();
    const pieces = async function* () {
      for await (const piece of decodePieces(decoder as unknown as StreamDecoder, feed(bytesSource(b), 0), tally)) {
        stream.sampleRate = tally.sampleRate;
        const map = VORBIS_TO_WAV[piece.length];
        yield map ? map.map((i) => piece[i]) : piece;
      }
      tally.end(path, notices);
    };
    const name = walk.codec === 'opus' ? 'Opus stream' : 'Ogg Vorbis stream';
    yield* length === null || channels === null ? pieces() : heldTo(pieces(), length, channels, notices, name);
  });
  if (length !== null && channels !== null) stream.frames = length;
  return Object.assign(stream, { codec: walk.codec });
}

/**
 * The samples an Ogg stream decodes to, from its last page's granule position: Vorbis counts them from 0, Opus
 * (always 48 kHz) from before its pre-skip (OpusHead bytes 10–11). Both decoders gave exactly that on ffmpeg's files
 * (44.1 and 48 kHz Vorbis, Opus). Null when the walk found no granule.
 */
function oggSamples(b: Uint8Array, codec: 'vorbis' | 'opus', lastGranule: bigint | undefined): number | null {
  if (lastGranule === undefined || lastGranule <= 0n || lastGranule > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  let samples = Number(lastGranule);
  if (codec === 'opus') {
    const head = oggHead(b, 'OpusHead');
    if (head < 0) return null;
    samples -= b[head + 10] | (b[head + 11] << 8);
  }
  return samples > 0 ? samples : null;
}

/** Channels from the identification header (OpusHead byte 9, the Vorbis header's byte 11); null when not found. */
function oggChannels(b: Uint8Array, codec: 'vorbis' | 'opus'): number | null {
  const head = codec === 'opus' ? oggHead(b, 'OpusHead') : oggHead(b, '\x01vorbis');
  if (head < 0) return null;
  const channels = b[head + (codec === 'opus' ? 9 : 11)];
  return channels > 0 ? channels : null;
}

/** Where `magic` starts in the first page (its identification header), or −1. */
function oggHead(b: Uint8Array, magic: string): number {
  const first = b.subarray(0, Math.min(b.length, 27 + 255 + 255 * 255));
  return Buffer.from(first.buffer, first.byteOffset, first.length).indexOf(magic, 0, 'latin1');
}
