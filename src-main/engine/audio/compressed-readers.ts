// FLAC, MP3, Ogg Vorbis and Ogg Opus through the wasm decoders. The decoders carry on past damage without
// saying so, so each reader first checks the stream's own structure (flac-stream.ts, mpeg-frames.ts,
// ogg-pages.ts) and holds the decoded length to what the headers promise. What "truncated" means per codec:
//  - FLAC: fewer samples than STREAMINFO promises and the last frame ends early or is itself cut.
//  - MP3: the last frame header promises more bytes than remain, or a Xing/Info/VBRI header promises
//    more frames than the file holds.
//  - Ogg: the last page is cut, or the stream ends without its end-of-stream page.
// Damage in the middle (lost FLAC frames, junk between MPEG frames, Ogg pages with a bad CRC) is DECODE_FAILED.
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { MPEGDecoder } from 'mpg123-decoder';
import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import { audioError } from './audio-error.ts';
import { diagnoseShortFlac, readFlacLayout } from './flac-stream.ts';
import { findMpegStart, parseMpegHeader, promisedFrames, walkMpegFrames } from './mpeg-frames.ts';
import { walkOggPages } from './ogg-pages.ts';

export interface CompressedAudio {
  sampleRate: number;
  channels: Float32Array[];
  notices: string[];
}

interface DecodedPiece {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  bitDepth?: number;
  errors: { message: string }[];
}

const FEED_BYTES = 1 << 20;

/** Joins the decoder's pieces one channel at a time, dropping each channel's pieces as it goes. */
class PieceCollector {
  private pieces: Float32Array[][] = [];
  total = 0;
  sampleRate = 0;
  bitDepth = 0;
  errors: string[] = [];
  add(r: DecodedPiece): void {
    if (r.errors.length) this.errors.push(...r.errors.map((e) => e.message));
    if (r.samplesDecoded === 0) return;
    this.sampleRate = r.sampleRate;
    this.bitDepth = r.bitDepth ?? 0;
    // The decoders may hand out views of wasm memory that the next call overwrites: keep copies.
    this.pieces.push(r.channelData.map((c) => c.slice(0, r.samplesDecoded)));
    this.total += r.samplesDecoded;
  }
  join(): { channels: Float32Array[]; nonFinite: number } {
    const count = this.pieces.reduce((m, p) => Math.max(m, p.length), 0);
    const channels: Float32Array[] = [];
    let nonFinite = 0;
    for (let c = 0; c < count; c++) {
      const out = new Float32Array(this.total);
      let at = 0;
      for (const p of this.pieces) {
        const src = p[c] ?? p[0];
        out.set(src, at);
        at += src.length;
        p[c] = new Float32Array(0);
      }
      for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) { out[i] = 0; nonFinite++; }
      channels.push(out);
    }
    this.pieces = [];
    return { channels, nonFinite };
  }
}

type StreamDecoder = { decode(d: Uint8Array): DecodedPiece | Promise<DecodedPiece>; flush?(): Promise<DecodedPiece>; free(): void };

async function runDecoder(decoder: StreamDecoder & { ready: Promise<void> }, bytes: Uint8Array): Promise<PieceCollector> {
  const out = new PieceCollector();
  try {
    await decoder.ready;
    for (let at = 0; at < bytes.length; at += FEED_BYTES) out.add(await decoder.decode(bytes.subarray(at, at + FEED_BYTES)));
    if (decoder.flush) out.add(await decoder.flush());
  } finally {
    decoder.free();
  }
  return out;
}

function finish(path: string, out: PieceCollector, notices: string[], sampleRate: number): CompressedAudio {
  if (out.errors.length) throw audioError('DECODE_FAILED', path, `the decoder reported: ${out.errors[0]}`);
  if (out.total === 0) throw audioError('ZERO_LENGTH_AUDIO', path, 'the stream is valid but holds no audio samples');
  const { channels, nonFinite } = out.join();
  if (nonFinite) notices.push(`replaced ${nonFinite} NaN/infinite samples with silence`);
  return { sampleRate: out.sampleRate || sampleRate, channels, notices };
}

export async function readFlac(path: string, b: Uint8Array, fLaCAt: number): Promise<CompressedAudio> {
  const layout = readFlacLayout(b, fLaCAt);
  if (!layout.ok) throw audioError(layout.reason === 'cut' ? 'TRUNCATED' : 'DECODE_FAILED', path, layout.detail);
  const { info, audioStart } = layout;
  if (audioStart >= b.length) {
    if (info.totalSamples === 0) throw audioError('ZERO_LENGTH_AUDIO', path, 'the FLAC file is valid but holds no audio frames');
    throw audioError('TRUNCATED', path, `the FLAC file holds its header but none of the ${info.totalSamples} samples it promises`);
  }
  const out = await runDecoder(new FLACDecoder(), b.subarray(fLaCAt));
  if (info.totalSamples > 0 && out.total < info.totalSamples) {
    const { cut, detail } = diagnoseShortFlac(b, audioStart, info);
    throw audioError(cut ? 'TRUNCATED' : 'DECODE_FAILED', path,
      `${detail} (decoded ${out.total} of ${info.totalSamples} samples)`);
  }
  const notices: string[] = [];
  if (info.totalSamples === 0) notices.push('the FLAC header does not give the length; decoded to the end of the file');
  const audio = finish(path, out, notices, info.sampleRate);
  rescaleIntegerPcm(audio.channels, out.bitDepth || info.bitsPerSample);
  return audio;
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

export async function readMpeg(path: string, b: Uint8Array, searchFrom: number): Promise<CompressedAudio> {
  const first = findMpegStart(b, searchFrom, 1 << 16);
  if (first < 0) throw audioError('NOT_AUDIO', path, 'it starts like an MP3 but holds no MPEG audio frames');
  const h = parseMpegHeader(b, first)!;
  const walk = walkMpegFrames(b, first);
  const promised = promisedFrames(b, first);
  const secs = (frames: number) => ((frames * h.samplesPerFrame) / h.sampleRate).toFixed(2);
  if (walk.cutMidFrame) throw audioError('TRUNCATED', path, `the file ends in the middle of an MP3 frame, after ${secs(walk.frames)} s`);
  if (walk.damagedBytes > 0) {
    throw audioError('DECODE_FAILED', path, `${walk.damagedBytes} bytes of damaged data in the MP3 stream (first at byte ${walk.firstDamageAt})`);
  }
  if (promised !== null && walk.frames - 1 < promised) {
    throw audioError('TRUNCATED', path, `the MP3 header promises ${secs(promised)} s but the file holds ${secs(walk.frames - 1)} s`);
  }
  const notices: string[] = [];
  if (walk.trailingBytes > 0) notices.push(`ignored ${walk.trailingBytes} bytes of non-audio data at the end of the MP3`);
  const out = await runDecoder(new MPEGDecoder() as unknown as StreamDecoder & { ready: Promise<void> }, b);
  const audio = finish(path, out, notices, h.sampleRate);
  // mpg123 always hands out two channels; a mono stream's second one is a copy.
  if (h.channels === 1) audio.channels = audio.channels.slice(0, 1);
  return audio;
}

// Vorbis and Opus order 3–8 channels as L C R …, LFE last; WAV (and FLAC) as L R C LFE …. We hand out WAV
// order so that channels.ts has one convention. Index i of the result is channel map[i] of the decoder.
export const VORBIS_TO_WAV: Record<number, number[]> = {
  3: [0, 2, 1], 5: [0, 2, 1, 3, 4], 6: [0, 2, 1, 5, 3, 4], 7: [0, 2, 1, 6, 5, 3, 4], 8: [0, 2, 1, 7, 5, 6, 3, 4],
};

export async function readOgg(path: string, b: Uint8Array): Promise<CompressedAudio & { codec: 'vorbis' | 'opus' }> {
  const walk = walkOggPages(b);
  if (walk.codec !== 'vorbis' && walk.codec !== 'opus') {
    const name = { flac: 'Ogg FLAC', speex: 'Speex', theora: 'Theora video', unknown: 'an unknown codec' }[walk.codec];
    throw audioError('UNSUPPORTED_CODEC', path, `the Ogg file holds ${name}; only Vorbis and Opus are supported in Ogg`);
  }
  if (walk.cutMidPage) throw audioError('TRUNCATED', path, `the file ends in the middle of Ogg page ${walk.pages + 1}`);
  if (walk.badCrcPages > 0) {
    throw audioError('DECODE_FAILED', path, `${walk.badCrcPages} Ogg page(s) are damaged (checksum mismatch; first at byte ${walk.firstBadCrcAt})`);
  }
  if (walk.strayBytes > 0) throw audioError('DECODE_FAILED', path, `${walk.strayBytes} bytes of the file are not Ogg pages`);
  if (!walk.endOfStream) throw audioError('TRUNCATED', path, `the Ogg stream stops after ${walk.pages} pages without its end-of-stream page`);
  const decoder = walk.codec === 'opus' ? new OggOpusDecoder() : new OggVorbisDecoder();
  const out = await runDecoder(decoder as unknown as StreamDecoder & { ready: Promise<void> }, b);
  const audio = finish(path, out, [], 48000);
  const map = VORBIS_TO_WAV[audio.channels.length];
  if (map) audio.channels = map.map((i) => audio.channels[i]);
  return { ...audio, codec: walk.codec };
}
