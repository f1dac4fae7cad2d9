// The one place that talks to libav.js (FFmpeg 6.1's libavformat/libavcodec compiled to WebAssembly, LGPL-2.1,
// loaded as a separate module from node_modules). It demuxes MP4/MOV and Matroska/WebM and decodes AAC (LC, HE,
// HE v2), ALAC, Opus and Vorbis for the readers in media-readers.ts, and encodes AAC or ALAC tracks into an MP4
// for stem-file.ts. One instance per thread, created on first use (~0.1 s); each call gets its own in-memory file
// and frees it. A WebAssembly fault (out of memory) drops the instance, so the next call starts a fresh one.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { LibAV as LibAVInstance, LibAVSync, Frame, Packet, Stream } from '@libav.js/variant-fat';
import type { DspKernels } from '../dsp/kernels/index.ts';
import { Mulberry32, toIntInterleaved } from './pcm.ts';
import type { StemFileCodec } from './stem-file-layout.ts';

type LibAV = LibAVInstance & LibAVSync;

/** The variant's entry script; the version in its name is pinned in package.json. */
const ENTRY = 'libav-4.10.6.1.1-fat.js';

let instance: Promise<LibAV> | null = null;
let fileCounter = 0;

function loadLibav(): Promise<LibAV> {
  instance ??= (async () => {
    const require = createRequire(import.meta.url);
    const base = dirname(require.resolve('@libav.js/variant-fat/package.json')) + '/dist';
    const g = globalThis as { LibAV?: { base?: string; LibAV?: (o: object) => Promise<LibAV> } };
    // The entry script reads the global LibAV for its base folder and then fills it in.
    g.LibAV = { ...(g.LibAV ?? {}), base };
    require(`${base}/${ENTRY}`);
    const libav = await g.LibAV.LibAV!({ noworker: true, nothreads: true });
    await libav.av_log_set_level(libav.AV_LOG_QUIET);
    return libav;
  })();
  return instance;
}

/** Planar float32 pieces in decode order, with the stream's output rate and channel count. */
export interface LibavPieces {
  sampleRate: number;
  channelCount: number;
  pieces: Float32Array[][];
  frames: number;
  /** Streams in the container, the decoded one included (1 for raw packets). */
  streams: number;
}

/** What the demuxer found: the audio stream it will decode, or why there is none it can. */
export type LibavAudioStream =
  | { ok: true; index: number; codecId: number; durationSeconds: number | null }
  | { ok: false; reason: 'no-audio' | 'no-decoder'; codecId?: number };

export class LibavError extends Error {}

/**
 * Demuxes `bytes` (a whole MP4/MOV or Matroska file) and decodes its first audio stream; every other stream is
 * discarded unread. `pick` sees the stream and may refuse it before decoding starts (by throwing).
 */
export async function decodeContainer(bytes: Uint8Array, pick: (s: LibavAudioStream) => void): Promise<LibavPieces> {
  try {
    return await demuxAndDecode(bytes, pick);
  } catch (err) {
    dropOnFault(err);
    throw err;
  }
}

async function demuxAndDecode(bytes: Uint8Array, pick: (s: LibavAudioStream) => void): Promise<LibavPieces> {
  const libav = await loadLibav();
  const name = `input-${++fileCounter}`;
  await libav.writeFile(name, bytes);
  let fmt = 0;
  try {
    let streams: Stream[];
    try {
      [fmt, streams] = await libav.ff_init_demuxer_file(name);
    } catch (err) {
      throw new LibavError(
        `the file's structure is damaged; it cannot be opened (${messageOf(err).replace('Could not open source file', 'unreadable header')})`,
      );
    }
    const audio = streams.find((s) => s.codec_type === libav.AVMEDIA_TYPE_AUDIO);
    const hasDecoder = audio ? (await libav.avcodec_find_decoder(audio.codec_id)) !== 0 : false;
    const choice: LibavAudioStream = !audio
      ? { ok: false, reason: 'no-audio' }
      : !hasDecoder
        ? { ok: false, reason: 'no-decoder', codecId: audio.codec_id }
        : { ok: true, index: audio.index, codecId: audio.codec_id, durationSeconds: streamSeconds(audio) };
    pick(choice);
    if (!choice.ok || !audio) throw new LibavError('no decodable audio stream');
    for (const s of streams) if (s.index !== audio.index) await libav.AVStream_discard_s(s.ptr, libav.AVDISCARD_ALL);

    const [, ctx, pkt, frame] = await initDecoder(libav, audio.codec_id, audio.codecpar);
    try {
      const out = newPieces(streams.length);
      for (;;) {
        const [res, packets] = await libav.ff_read_multi(fmt, pkt, undefined, { limit: 1 << 20 });
        const mine = packets[audio.index] ?? [];
        const eof = res === libav.AVERROR_EOF;
        if (res !== 0 && res !== -libav.EAGAIN && !eof)
          throw new LibavError(`the container is damaged (${await errorText(libav, res)})`);
        if (mine.length || eof) addFrames(libav, out, await decode(libav, ctx, pkt, frame, mine, eof));
        if (eof) break;
      }
      return out;
    } finally {
      await libav.ff_free_decoder(ctx, pkt, frame);
    }
  } finally {
    if (fmt) await libav.avformat_close_input_js(fmt);
    await libav.unlink(name);
  }
}

/** Decodes raw codec packets (e.g. ADTS frames, which carry their own configuration) with the named decoder. */
export async function decodePackets(decoderName: string, packets: Uint8Array[]): Promise<LibavPieces> {
  try {
    return await decodeRawPackets(decoderName, packets);
  } catch (err) {
    dropOnFault(err);
    throw err;
  }
}

async function decodeRawPackets(decoderName: string, packets: Uint8Array[]): Promise<LibavPieces> {
  const libav = await loadLibav();
  const [, ctx, pkt, frame] = await initDecoder(libav, decoderName);
  try {
    const out = newPieces(1);
    const BATCH = 256;
    for (let i = 0; i < packets.length || i === 0; i += BATCH) {
      const batch = packets.slice(i, i + BATCH).map((data): Packet => ({ data }));
      addFrames(libav, out, await decode(libav, ctx, pkt, frame, batch, i + BATCH >= packets.length));
    }
    return out;
  } finally {
    await libav.ff_free_decoder(ctx, pkt, frame);
  }
}

async function decode(
  libav: LibAV,
  ctx: number,
  pkt: number,
  frame: number,
  packets: Packet[],
  fin: boolean,
): Promise<Frame[]> {
  try {
    return await libav.ff_decode_multi(ctx, pkt, frame, packets, { fin });
  } catch (err) {
    throw new LibavError(
      `the audio data is damaged (${messageOf(err).replace(/^Error submitting the packet to the decoder: /, '')})`,
    );
  }
}

/** After a WebAssembly fault (e.g. out of memory) the instance's state is unknown: the next call loads a new one. */
function dropOnFault(err: unknown): void {
  if ((err as Error)?.name === 'RuntimeError' || /memory access out of bounds|Aborted\(/.test(messageOf(err)))
    instance = null;
}

function newPieces(streams: number): LibavPieces {
  return { sampleRate: 0, channelCount: 0, pieces: [], frames: 0, streams };
}

async function initDecoder(
  libav: LibAV,
  codec: string | number,
  codecpar?: number,
): Promise<[number, number, number, number]> {
  try {
    return await libav.ff_init_decoder(codec, codecpar);
  } catch (err) {
    throw new LibavError(
      `the audio stream's setup is damaged (${messageOf(err).replace(/^Could not open codec: /, '')})`,
    );
  }
}

function addFrames(libav: LibAV, out: LibavPieces, frames: Frame[]): void {
  for (const f of frames) {
    const n = f.nb_samples ?? 0;
    if (n === 0) continue;
    const channels = f.channels ?? 0;
    if (out.frames === 0) {
      out.sampleRate = f.sample_rate ?? 0;
      out.channelCount = channels;
    }
    if (f.sample_rate !== out.sampleRate || channels !== out.channelCount) {
      throw new LibavError(
        `the stream changes from ${out.channelCount} channels at ${out.sampleRate} Hz to ${channels} at ${f.sample_rate} Hz midway`,
      );
    }
    out.pieces.push(toPlanarFloat(libav, f, channels, n));
    out.frames += n;
  }
}

/** Any of FFmpeg's sample formats → one Float32Array per channel (integers scaled by 2^(bits−1)). */
function toPlanarFloat(libav: LibAV, f: Frame, channels: number, n: number): Float32Array[] {
  const fmt = f.format;
  const planar = [
    libav.AV_SAMPLE_FMT_U8P,
    libav.AV_SAMPLE_FMT_S16P,
    libav.AV_SAMPLE_FMT_S32P,
    libav.AV_SAMPLE_FMT_FLTP,
    libav.AV_SAMPLE_FMT_DBLP,
  ].includes(fmt);
  const scale =
    fmt === libav.AV_SAMPLE_FMT_S16 || fmt === libav.AV_SAMPLE_FMT_S16P
      ? 1 / 32768
      : fmt === libav.AV_SAMPLE_FMT_S32 || fmt === libav.AV_SAMPLE_FMT_S32P
        ? 1 / 2147483648
        : fmt === libav.AV_SAMPLE_FMT_U8 || fmt === libav.AV_SAMPLE_FMT_U8P
          ? 1 / 128
          : 1;
  const offset = fmt === libav.AV_SAMPLE_FMT_U8 || fmt === libav.AV_SAMPLE_FMT_U8P ? -128 : 0;
  const out: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const src: ArrayLike<number> = planar ? f.data[c] : f.data;
    const dst = new Float32Array(n);
    if (planar) for (let i = 0; i < n; i++) dst[i] = (src[i] + offset) * scale;
    else for (let i = 0, j = c; i < n; i++, j += channels) dst[i] = (src[j] + offset) * scale;
    out.push(dst);
  }
  return out;
}

function streamSeconds(s: Stream): number | null {
  const d = s.duration_time_base;
  if (!Number.isFinite(d) || d <= 0 || !s.time_base_den) return null;
  return (d * s.time_base_num) / s.time_base_den;
}

async function errorText(libav: LibAV, code: number): Promise<string> {
  try {
    return await libav.ff_error(code);
  } catch {
    return `error ${code}`;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One encoder per track, muxed into one MP4 whose bytes go to `write` (position, bytes) as libav produces them. */
export interface Mp4TrackEncoder {
  /** Appends frames to every track: tracks[t] is one Float32Array per channel, all tracks the same length. */
  encode(tracks: Float32Array[][]): Promise<void>;
  /** Flushes the encoders and writes the index (moov, at the end of the file). */
  finish(): Promise<void>;
  /** Frees everything; safe after a failure and after finish. */
  free(): Promise<void>;
  /** Samples beyond full scale that integer (ALAC) tracks had to clip so far. */
  readonly clipped: number;
}

export interface Mp4TrackOptions {
  tracks: number;
  channels: number;
  sampleRate: number;
  /** AAC (FFmpeg's encoder, LC) at `bitRate`, or lossless ALAC at `bitDepth`. */
  codec: StemFileCodec;
  write(position: number, bytes: Uint8Array): void;
  /** The calling thread's DSP kernels for ALAC's integer samples; absent: the JavaScript reference. */
  kernels?: DspKernels;
}

const writers = new Map<string, (position: number, bytes: Uint8Array) => void>();

export async function createMp4TrackEncoder(o: Mp4TrackOptions): Promise<Mp4TrackEncoder> {
  const libav = await loadLibav();
  // libav.js hands every device write to one callback; it is routed by file name.
  libav.onwrite = (name, position, bytes) =>
    writers.get(name)?.(
      position,
      bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
    );
  const name = `output-${++fileCounter}.mp4`;
  writers.set(name, o.write);
  const sampleFmt =
    o.codec.name === 'aac'
      ? libav.AV_SAMPLE_FMT_FLTP
      : o.codec.bitDepth === 16
        ? libav.AV_SAMPLE_FMT_S16P
        : libav.AV_SAMPLE_FMT_S32P;
  const layout = o.channels === 1 ? 4 : 3; // AV_CH_LAYOUT_MONO, AV_CH_LAYOUT_STEREO
  const encoders: {
    ctx: number;
    frame: number;
    pkt: number;
    frameSize: number;
    pending: Float32Array[];
    pts: number;
  }[] = [];
  let muxer: { oc: number; pb: number; pkt: number } | null = null;
  const state = { freed: false };

  const free = async () => {
    if (state.freed) return;
    state.freed = true;
    for (const e of encoders) await libav.ff_free_encoder(e.ctx, e.frame, e.pkt);
    if (muxer) {
      await libav.av_packet_free_js(muxer.pkt);
      await libav.ff_free_muxer(muxer.oc, muxer.pb);
    }
    writers.delete(name);
    await libav.unlink(name).catch(() => undefined);
  };

  try {
    for (let t = 0; t < o.tracks; t++) {
      const [, ctx, frame, pkt, frameSize] = await libav.ff_init_encoder(o.codec.name, {
        ctx: {
          sample_fmt: sampleFmt,
          sample_rate: o.sampleRate,
          channel_layout: layout,
          channels: o.channels,
          ...(o.codec.name === 'aac' ? { bit_rate: o.codec.bitRate } : {}),
        },
        time_base: [1, o.sampleRate],
      });
      encoders.push({
        ctx,
        frame,
        pkt,
        frameSize: frameSize || 4096,
        pending: Array.from({ length: o.channels }, () => new Float32Array(0)),
        pts: 0,
      });
    }
    const [oc, , pb] = await libav.ff_init_muxer(
      { format_name: 'mp4', filename: name, device: true, open: true },
      encoders.map((e) => [e.ctx, 1, o.sampleRate] as [number, number, number]),
    );
    muxer = { oc, pb, pkt: await libav.av_packet_alloc() };
    // Durations (the edit list that trims the encoder's padding) in samples rather than the default 1/1000 s.
    const set = await libav.av_opt_set(oc, 'movie_timescale', String(o.sampleRate), libav.AV_OPT_SEARCH_CHILDREN);
    if (set < 0) throw new LibavError(`the MP4 muxer does not take a movie timescale (error ${set})`);
    const header = await libav.avformat_write_header(oc, 0);
    if (header < 0) throw new LibavError(`the MP4 muxer refused the tracks (error ${header})`);
  } catch (err) {
    dropOnFault(err);
    await free().catch(() => undefined);
    throw err instanceof LibavError ? err : new LibavError(`cannot start the encoder (${messageOf(err)})`);
  }

  const bits = o.codec.name === 'alac' ? o.codec.bitDepth : 0;
  const rand = new Mulberry32(0xa1ac);
  const counts = { clipped: 0 };
  /** Float samples → the encoder's format: floats for AAC; for ALAC the writers' integers (pcm.ts), planar. */
  const toSampleFormat = (planar: Float32Array[]): (Float32Array | Int16Array | Int32Array)[] => {
    if (bits === 0) return planar;
    const { ints, clipped } = toIntInterleaved(planar, bits as 16 | 24, bits === 16 ? 'tpdf' : 'none', rand, o.kernels);
    counts.clipped += clipped;
    const shift = bits === 16 ? 1 : 256; // 24-bit codes sit in the top 24 bits of S32P
    return planar.map((c, ch) => {
      const out = bits === 16 ? new Int16Array(c.length) : new Int32Array(c.length);
      for (let i = 0, j = ch; i < c.length; i++, j += planar.length) out[i] = ints[j] * shift;
      return out;
    });
  };

  /** Encodes the whole frames buffered for track t (all of them when `fin`) and writes the packets. */
  const drain = async (t: number, fin: boolean) => {
    const e = encoders[t];
    const frames: Frame[] = [];
    let at = 0;
    const available = e.pending[0].length;
    while (available - at >= e.frameSize || (fin && at < available)) {
      const n = Math.min(e.frameSize, available - at);
      const data = toSampleFormat(e.pending.map((c) => c.subarray(at, at + n)));
      frames.push({
        data,
        format: sampleFmt,
        channel_layout: layout,
        channels: o.channels,
        sample_rate: o.sampleRate,
        nb_samples: n,
        pts: e.pts,
      });
      e.pts += n;
      at += n;
    }
    e.pending = e.pending.map((c) => c.slice(at));
    if (!frames.length && !fin) return;
    const packets = await libav.ff_encode_multi(e.ctx, e.frame, e.pkt, frames, fin);
    for (const p of packets) p.stream_index = t;
    if (packets.length) await libav.ff_write_multi(muxer!.oc, muxer!.pkt, packets);
  };

  return {
    get clipped() {
      return counts.clipped;
    },
    async encode(tracks) {
      for (let t = 0; t < o.tracks; t++) {
        const e = encoders[t];
        e.pending = e.pending.map((c, ch) => concat(c, tracks[t][ch]));
        await drain(t, false);
      }
    },
    async finish() {
      for (let t = 0; t < o.tracks; t++) await drain(t, true);
      const r = await libav.av_write_trailer(muxer!.oc);
      if (r < 0) throw new LibavError(`the MP4 muxer could not finish the file (error ${r})`);
    },
    free,
  };
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  if (a.length === 0) return b.slice();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
