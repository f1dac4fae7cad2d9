// Planar float → file bytes, one encoder per output format, all streaming: `encode` takes any number of
// frames and returns the bytes ready to append; `finish` returns the last bytes plus the header patches that
// only the end can know (sizes, FLAC's STREAMINFO). stem-writer.ts owns the file and its atomic rename.
import { createRequire } from 'node:module';
import { Mp3Encoder } from '@breezystack/lamejs';
import type { DspKernels } from '../dsp/kernels/index.ts';
import type { BitDepth, OutputFormat } from '../types.ts';
import { encodeStreamInfo } from './flac-stream.ts';
import { crc16, infoFrame, infoFrameLength } from './mp3-info-tag.ts';
import { parseMpegHeader } from './mpeg-frames.ts';
import { storableRate } from './sample-rates.ts';
import { Mulberry32, toFloatInterleaved, toInt16Interleaved, toIntInterleaved, type Dither } from './pcm.ts';
import { flacTagBlocks, id3v2Tag, wavTagChunks } from './tag-writers.ts';
import { hasTags, type AudioTags } from './tags.ts';

/**
 * What a file is written as. The stem writer (stem-writer.ts) takes the same options, plus its path, and adapts what a
 * format cannot store before they reach an encoder.
 */
export interface EncoderOptions {
  format: OutputFormat;
  /** WAV: 16, 24 or '32f'. FLAC: 16 or 24 (the stem writer writes '32f' as 24-bit, with a notice). MP3: ignored. */
  bitDepth: BitDepth;
  /** MP3 stores only the MPEG rates: the stem writer writes the nearest one (encodableSampleRate), with a notice. */
  sampleRate: number;
  channels: number;
  /** 16-bit integer output only; default 'tpdf'. */
  dither?: Dither;
  /**
   * Title, artist, album, track, year and cover, where the format holds them: WAV LIST/INFO and `id3 ` chunks after
   * the data, FLAC metadata blocks, MP3 ID3v2.
   */
  tags?: AudioTags;
  /**
   * The calling thread's DSP kernels, which make the integer samples (pcm.ts): the engine worker's; absent (exports
   * on the main thread), the JavaScript reference, which gives the same integers.
   */
  kernels?: DspKernels;
}

export interface Patch {
  at: number;
  bytes: Uint8Array;
}

export interface SampleEncoder {
  encode(planar: Float32Array[]): Uint8Array[];
  finish(): { tail: Uint8Array[]; patches: Patch[] };
  /** Samples beyond ±1 that integer output had to clip so far. */
  readonly clipped: number;
}

/** Thrown for settings a format cannot take; stem-writer.ts turns it into an XumxError naming the file. */
export class EncoderSettingError extends Error {}

/** A RIFF WAV can address 4 GiB; past that we stop with a clear message instead of writing a broken header. */
export const WAV_MAX_BYTES = 0xffffffff;

/** The rate `format` writes a song of `rate` at: MP3 stores only the MPEG rates (storableRate), WAV and FLAC any. */
export function encodableSampleRate(format: OutputFormat, rate: number): number {
  return format === 'mp3' ? storableRate(rate, MP3_SAMPLE_RATES) : rate;
}

export async function createSampleEncoder(o: EncoderOptions): Promise<SampleEncoder> {
  if (o.format === 'wav') return new WavEncoder(o);
  if (o.format === 'flac') return FlacEncoder.create(o);
  return new Mp3StreamEncoder(o);
}

class WavEncoder implements SampleEncoder {
  clipped = 0;
  private frames = 0;
  private readonly float: boolean;
  private readonly bytesPerSample: number;
  private readonly headerLength: number;
  private readonly rand = new Mulberry32(0x5eed);
  private started = false;
  /** Tag chunks, written after the data chunk: the header is written before the data's length is known. */
  private readonly tagChunks: Uint8Array;

  constructor(private readonly o: EncoderOptions) {
    this.float = o.bitDepth === '32f';
    this.bytesPerSample = o.bitDepth === 16 ? 2 : o.bitDepth === 24 ? 3 : 4;
    this.headerLength = this.float ? 58 : 44;
    this.tagChunks = hasTags(o.tags) ? wavTagChunks(o.tags) : new Uint8Array(0);
  }

  private header(frames: number): Uint8Array {
    const { channels, sampleRate } = this.o;
    const blockAlign = channels * this.bytesPerSample;
    const dataBytes = frames * blockAlign;
    const b = Buffer.alloc(this.headerLength);
    b.write('RIFF', 0, 'latin1');
    b.writeUInt32LE(this.headerLength - 8 + dataBytes + (dataBytes % 2) + this.tagChunks.length, 4);
    b.write('WAVEfmt ', 8, 'latin1');
    b.writeUInt32LE(this.float ? 18 : 16, 16);
    b.writeUInt16LE(this.float ? 3 : 1, 20);
    b.writeUInt16LE(channels, 22);
    b.writeUInt32LE(sampleRate, 24);
    b.writeUInt32LE(sampleRate * blockAlign, 28);
    b.writeUInt16LE(blockAlign, 32);
    b.writeUInt16LE(this.bytesPerSample * 8, 34);
    let at = 36;
    if (this.float) {
      b.writeUInt16LE(0, 36); // cbSize
      b.write('fact', 38, 'latin1');
      b.writeUInt32LE(4, 42);
      b.writeUInt32LE(frames, 46);
      at = 50;
    }
    b.write('data', at, 'latin1');
    b.writeUInt32LE(dataBytes, at + 4);
    return b;
  }

  encode(planar: Float32Array[]): Uint8Array[] {
    const n = planar[0]?.length ?? 0;
    const blockAlign = this.o.channels * this.bytesPerSample;
    if (this.headerLength + (this.frames + n) * blockAlign + 1 + this.tagChunks.length > WAV_MAX_BYTES) {
      const hours = (WAV_MAX_BYTES / blockAlign / this.o.sampleRate / 3600).toFixed(1);
      throw new EncoderSettingError(
        `a WAV file cannot hold more than 4 GiB (${hours} h at these settings); choose FLAC`,
      );
    }
    const out: Uint8Array[] = [];
    if (!this.started) {
      out.push(this.header(0));
      this.started = true;
    }
    this.frames += n;
    if (this.float) {
      const f = toFloatInterleaved(planar);
      out.push(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
      return out;
    }
    const bits = this.o.bitDepth as 16 | 24;
    if (bits === 16) {
      const { samples, clipped } = toInt16Interleaved(planar, this.o.dither ?? 'tpdf', this.rand, this.o.kernels);
      this.clipped += clipped;
      out.push(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    } else {
      const { ints, clipped } = toIntInterleaved(planar, bits, 'none', this.rand, this.o.kernels);
      this.clipped += clipped;
      const b = new Uint8Array(ints.length * 3);
      for (let i = 0, j = 0; i < ints.length; i++, j += 3) {
        const v = ints[i];
        b[j] = v & 0xff;
        b[j + 1] = (v >> 8) & 0xff;
        b[j + 2] = (v >> 16) & 0xff;
      }
      out.push(b);
    }
    return out;
  }

  finish(): { tail: Uint8Array[]; patches: Patch[] } {
    const tail = this.started ? [] : [this.header(0)];
    const dataBytes = this.frames * this.o.channels * this.bytesPerSample;
    if (dataBytes % 2) tail.push(new Uint8Array(1)); // RIFF pads odd chunks
    if (this.tagChunks.length) tail.push(this.tagChunks);
    return { tail, patches: [{ at: 0, bytes: this.header(this.frames) }] };
  }
}

// libflac.js's emscripten loader fetches its .wasm with global fetch when one exists, which fails on a
// file path under Node; with fetch hidden while it loads, it reads the file from disk instead.
type LibFlac = {
  isReady(): boolean;
  on(ev: 'ready', cb: () => void): void;
  create_libflac_encoder(
    rate: number,
    ch: number,
    bps: number,
    level: number,
    total: number,
    verify: boolean,
    block: number,
  ): number;
  init_encoder_stream(enc: number, write: (d: Uint8Array) => void, meta: (m: FlacMeta) => void): number;
  FLAC__stream_encoder_process_interleaved(enc: number, buf: Int32Array, frames: number): boolean;
  FLAC__stream_encoder_finish(enc: number): boolean;
  FLAC__stream_encoder_delete(enc: number): void;
};
interface FlacMeta {
  min_blocksize: number;
  max_blocksize: number;
  min_framesize: number;
  max_framesize: number;
  total_samples: number;
  md5sum: string;
}

let libFlac: Promise<LibFlac> | null = null;
function loadLibFlac(): Promise<LibFlac> {
  libFlac ??= (async () => {
    const require = createRequire(import.meta.url);
    const saved = globalThis.fetch;
    let lib: LibFlac;
    try {
      (globalThis as { fetch?: unknown }).fetch = undefined;
      lib = require('libflacjs')('wasm') as LibFlac;
    } finally {
      globalThis.fetch = saved;
    }
    if (!lib.isReady()) await new Promise<void>((resolve) => lib.on('ready', resolve));
    return lib;
  })();
  return libFlac;
}

const FLAC_FEED_FRAMES = 65536;

/**
 * The start of a FLAC stream with its VORBIS_COMMENT blocks replaced by `tagBlocks` (placed after STREAMINFO) and
 * the last-block flag on the last metadata block; null until `head` holds every metadata block.
 */
export function replaceFlacComments(head: Buffer, tagBlocks: Uint8Array): Buffer | null {
  const blocks: Buffer[] = [];
  let at = 4;
  for (let last = false; !last;) {
    if (at + 4 > head.length) return null;
    last = (head[at] & 0x80) !== 0;
    const end = at + 4 + head.readUIntBE(at + 1, 3);
    if (end > head.length) return null;
    if ((head[at] & 0x7f) !== 4) blocks.push(Buffer.from(head.subarray(at, end)));
    at = end;
  }
  const [streamInfo, ...rest] = blocks;
  const chain = [streamInfo, Buffer.from(tagBlocks), ...rest];
  const out = Buffer.concat([head.subarray(0, 4), ...chain, head.subarray(at)]);
  // Clear every last-block flag, then set the one on the final block.
  let p = 4;
  let lastAt = 4;
  for (const b of chain) {
    for (let q = 0; q < b.length;) {
      out[p + q] &= 0x7f;
      lastAt = p + q;
      q += 4 + b.readUIntBE(q + 1, 3);
    }
    p += b.length;
  }
  out[lastAt] |= 0x80;
  return out;
}

class FlacEncoder implements SampleEncoder {
  clipped = 0;
  private pending: Uint8Array[] = [];
  private meta: FlacMeta | null = null;
  private readonly rand = new Mulberry32(0xf1ac);
  private readonly bits: 16 | 24;

  private constructor(
    private readonly lib: LibFlac,
    private readonly handle: number,
    private readonly o: EncoderOptions,
  ) {
    this.bits = o.bitDepth === 16 ? 16 : 24;
    this.tagBlocks = hasTags(o.tags) ? flacTagBlocks(o.tags) : null;
  }

  static async create(o: EncoderOptions): Promise<FlacEncoder> {
    if (o.channels < 1 || o.channels > 8)
      throw new EncoderSettingError(`FLAC holds 1 to 8 channels, not ${o.channels}`);
    if (o.sampleRate > 655350) throw new EncoderSettingError(`FLAC cannot store a sample rate of ${o.sampleRate} Hz`);
    const lib = await loadLibFlac();
    const bits = o.bitDepth === 16 ? 16 : 24;
    const handle = lib.create_libflac_encoder(o.sampleRate, o.channels, bits, 5, 0, false, 0);
    if (!handle) throw new Error('libFLAC could not create an encoder');
    const enc = new FlacEncoder(lib, handle, o);
    const status = lib.init_encoder_stream(
      handle,
      (d) => enc.pending.push(d.slice()),
      (m) => {
        enc.meta = m;
      },
    );
    if (status !== 0) {
      lib.FLAC__stream_encoder_delete(handle);
      throw new Error(`libFLAC refused the settings (init status ${status})`);
    }
    return enc;
  }

  /** Until the header has gone out: the tag blocks to place right after STREAMINFO. */
  private tagBlocks: Uint8Array | null;

  private take(): Uint8Array[] {
    let out = this.pending;
    this.pending = [];
    if (this.tagBlocks) {
      // libFLAC writes "fLaC", STREAMINFO and an empty VORBIS_COMMENT of its own before the first frame: ours
      // replaces it, right after STREAMINFO (which must stay at byte 8 for the patch in finish()).
      const head = Buffer.concat(out);
      const withTags = replaceFlacComments(head, this.tagBlocks);
      if (!withTags) {
        this.pending = [head];
        return [];
      }
      this.tagBlocks = null;
      out = [withTags];
    }
    return out;
  }

  encode(planar: Float32Array[]): Uint8Array[] {
    const n = planar[0]?.length ?? 0;
    for (let at = 0; at < n; at += FLAC_FEED_FRAMES) {
      const part = planar.map((c) => c.subarray(at, Math.min(n, at + FLAC_FEED_FRAMES)));
      const { ints, clipped } = toIntInterleaved(
        part,
        this.bits,
        this.bits === 16 ? (this.o.dither ?? 'tpdf') : 'none',
        this.rand,
        this.o.kernels,
      );
      this.clipped += clipped;
      if (!this.lib.FLAC__stream_encoder_process_interleaved(this.handle, ints, part[0].length)) {
        this.release();
        throw new Error('libFLAC failed while encoding');
      }
    }
    return this.take();
  }

  finish(): { tail: Uint8Array[]; patches: Patch[] } {
    const ok = this.lib.FLAC__stream_encoder_finish(this.handle);
    this.release();
    if (!ok || !this.meta) throw new Error('libFLAC failed to finish the stream');
    const m = this.meta;
    const md5 = Uint8Array.from(Buffer.from(m.md5sum, 'hex'));
    // The stream callbacks cannot seek, so libFLAC wrote STREAMINFO before it knew the length and MD5;
    // STREAMINFO's body always sits at byte 8 (after "fLaC" and the 4-byte block header).
    const info = encodeStreamInfo({
      minBlockSize: m.min_blocksize,
      maxBlockSize: m.max_blocksize,
      minFrameSize: m.min_framesize,
      maxFrameSize: m.max_framesize,
      sampleRate: this.o.sampleRate,
      channels: this.o.channels,
      bitsPerSample: this.bits,
      totalSamples: m.total_samples,
      md5,
    });
    return { tail: this.take(), patches: [{ at: 8, bytes: info }] };
  }

  private released = false;
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.lib.FLAC__stream_encoder_delete(this.handle);
  }
}

/** The rates MPEG audio (1, 2 and 2.5) defines. */
export const MP3_SAMPLE_RATES: readonly number[] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];

/**
 * 320 kbps CBR (lamejs has no VBR); bitDepth does not apply. The file starts with an Info frame carrying the
 * encoder delay and padding (mp3-info-tag.ts), so gapless decoders give back the stem sample-aligned with the song.
 */
class Mp3StreamEncoder implements SampleEncoder {
  clipped = 0;
  private readonly lame: Mp3Encoder;
  private readonly rand = new Mulberry32(0x3333);
  private samples = 0;
  private readonly frames = new FrameCounter();
  /** The first audio frame's header, once the encoder has produced one; the Info frame copies its format. */
  private firstHeader: Uint8Array | null = null;
  /** The ID3v2 tag that starts the file (empty without tags). */
  private readonly id3: Uint8Array;

  constructor(private readonly o: EncoderOptions) {
    if (o.channels < 1 || o.channels > 2)
      throw new EncoderSettingError(`MP3 holds mono or stereo, not ${o.channels} channels`);
    if (!MP3_SAMPLE_RATES.includes(o.sampleRate))
      throw new EncoderSettingError(`MP3 cannot store a sample rate of ${o.sampleRate} Hz (use 32, 44.1 or 48 kHz)`);
    this.lame = new Mp3Encoder(o.channels, o.sampleRate, MP3_KBPS);
    this.id3 = hasTags(o.tags) ? id3v2Tag(o.tags) : new Uint8Array(0);
  }

  encode(planar: Float32Array[]): Uint8Array[] {
    const { ints, clipped } = toIntInterleaved(planar, 16, this.o.dither ?? 'tpdf', this.rand, this.o.kernels);
    this.clipped += clipped;
    const n = planar[0]?.length ?? 0;
    const ch = this.o.channels;
    const left = new Int16Array(n);
    const right = ch === 2 ? new Int16Array(n) : undefined;
    for (let i = 0; i < n; i++) {
      left[i] = ints[i * ch];
      if (right) right[i] = ints[i * ch + 1];
    }
    this.samples += n;
    return this.audio(this.lame.encodeBuffer(left, right));
  }

  finish(): { tail: Uint8Array[]; patches: Patch[] } {
    const tail = this.audio(this.lame.flush());
    if (!this.firstHeader) return { tail, patches: [] }; // nothing was encoded at all: an empty file, no tag
    const placeholder = infoFrameLength(this.firstHeader);
    const frame = infoFrame(this.firstHeader, {
      frames: this.frames.count,
      bytes: placeholder + this.frames.bytes,
      samples: this.samples,
      musicCrc: this.frames.crc,
      kbps: MP3_KBPS,
    });
    return { tail, patches: [{ at: this.id3.length, bytes: frame }] };
  }

  /** Encoder output to write: counted, and after the ID3v2 tag and a placeholder for the Info frame when it is the first. */
  private audio(out: Uint8Array | Int8Array): Uint8Array[] {
    if (!out.length) return [];
    const bytes = new Uint8Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
    this.frames.add(bytes);
    if (this.firstHeader) return [bytes];
    this.firstHeader = bytes.slice(0, 4);
    return [this.id3, new Uint8Array(infoFrameLength(this.firstHeader)), bytes].filter((b) => b.length > 0);
  }
}

const MP3_KBPS = 320;

/** Counts MPEG frames (and bytes, and their CRC-16) in a stream that arrives in pieces cut anywhere. */
class FrameCounter {
  count = 0;
  bytes = 0;
  crc = 0;
  /** Bytes of the current frame still to come. */
  private skip = 0;
  /** The start of a header cut off by the end of the last piece. */
  private stash = new Uint8Array(0);

  add(piece: Uint8Array): void {
    this.bytes += piece.length;
    this.crc = crc16(piece, this.crc);
    let b = piece;
    if (this.stash.length) {
      b = new Uint8Array(this.stash.length + piece.length);
      b.set(this.stash);
      b.set(piece, this.stash.length);
      this.stash = new Uint8Array(0);
    }
    let at = this.skip;
    while (at < b.length) {
      if (at + 4 > b.length) {
        this.stash = b.slice(at);
        at = b.length;
        break;
      }
      const h = parseMpegHeader(b, at);
      if (!h)
        throw new Error(`the MP3 encoder wrote bytes that are not a frame at offset ${this.bytes - b.length + at}`);
      this.count++;
      at += h.length;
    }
    this.skip = at - b.length;
  }
}
